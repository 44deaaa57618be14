"""Order confirmation and shipping emails: real Kafka in, real SMTP out, events via the outbox."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from shoptrail.events import Event, EventData, decode, encode, new_event
from shoptrail.events.fulfilment import OrderShipped
from shoptrail.events.ingest import OrderCreated
from shoptrail.events.notifier import OrderConfirmationSent, ShippingNotificationSent
from shoptrail.events.producer import Producer
from shoptrail.notifier.bootstrap import Notifier, create_consumer_broker

pytestmark = [pytest.mark.kafka, pytest.mark.postgres, pytest.mark.slow]

ORDER = OrderCreated.example().model_copy(update={"customer_email": "Jo.Buyer@Example.com"})
SHIPPED = OrderShipped.example()


async def _consume_everything(
    notifier: Notifier, wait_until_consumed: Callable[..., Awaitable[None]]
) -> None:
    settings = notifier.settings
    async with Producer(settings.kafka_bootstrap, client_id="test-dead-letters") as producer:
        broker = create_consumer_broker(notifier, producer)
        await _run_until_consumed(broker, notifier, wait_until_consumed)


async def _run_until_consumed(
    broker: Any, notifier: Notifier, wait_until_consumed: Callable[..., Awaitable[None]]
) -> None:
    settings = notifier.settings
    async with broker:
        await broker.start()
        await wait_until_consumed(
            settings.consumer_group, [settings.ingest_topic, settings.fulfilment_topic]
        )


async def test_order_and_shipping_emails_arrive_once_with_the_shop_sender_and_are_logged(
    make_notifier: Callable[..., Awaitable[Notifier]],
    smtp: Any,
    kafka_bootstrap: str,
    new_topic: Callable[..., Awaitable[str]],
    read_topic: Callable[..., Awaitable[list[Any]]],
    topic_size: Callable[[str], Awaitable[int]],
    run_jobs: Callable[[Notifier], Awaitable[None]],
    wait_until_consumed: Callable[..., Awaitable[None]],
) -> None:
    ingest, fulfilment, out = await new_topic("ingest"), await new_topic("ful"), await new_topic()
    notifier = await make_notifier(
        ingest_topic=ingest, fulfilment_topic=fulfilment, notifier_topic=out
    )
    created = new_event(ORDER, source="/services/ingest")
    shipped = new_event(SHIPPED, source="/services/fulfilment")
    async with Producer(kafka_bootstrap, client_id="test-producer") as producer:
        await producer.send_and_wait(ingest, encode(created), key=b"ord")
        await producer.send_and_wait(ingest, encode(created), key=b"ord")  # delivered twice
        await producer.send_and_wait(fulfilment, encode(shipped), key=b"ord")

        await _consume_everything(notifier, wait_until_consumed)
        await run_jobs(notifier)

        confirmation, shipping = sorted(smtp.messages, key=lambda m: "on its way" in m["Subject"])
        for message in (confirmation, shipping):
            assert message["From"] == "Sam's Prints <hello@samsprints.shop>"
            assert message["To"] == "jo.buyer@example.com"
            assert message.get_body(("html",)) is not None, "an HTML alternative"
        assert confirmation["Subject"] == "Thank you for your order SS-260223-0042"
        assert "Mountain Tee" in confirmation.get_body(("plain",)).get_content()
        assert shipping["Subject"] == "Your order SS-260223-0042 is on its way"
        shipping_text = shipping.get_body(("plain",)).get_content()
        assert "DHL" in shipping_text
        assert "https://track.example.com/1Z999AA10123456784" in shipping_text

        assert await notifier.outbox_relay(producer).relay_batch() == 2
        sent = [decode(record.value) for record in await read_topic(out, 2)]
        by_type: dict[str, Event[EventData]] = {event.type: event for event in sent}
        assert set(by_type) == {OrderConfirmationSent.TYPE, ShippingNotificationSent.TYPE}
        assert all(event.subject == ORDER.order_id for event in sent)
        assert by_type[OrderConfirmationSent.TYPE].data.recipient == "jo.buyer@example.com"  # type: ignore[attr-defined]

        # A full replay by a new consumer group (every event redelivered) sends nothing more.
        replay = await make_notifier(
            ingest_topic=ingest,
            fulfilment_topic=fulfilment,
            notifier_topic=out,
            consumer_group=f"replay-{uuid.uuid4().hex[:8]}",
        )
        await _consume_everything(replay, wait_until_consumed)
        await run_jobs(replay)
        assert await replay.outbox_relay(producer).relay_batch() == 0
    assert len(smtp.messages) == 2
    assert await topic_size(out) == 2
