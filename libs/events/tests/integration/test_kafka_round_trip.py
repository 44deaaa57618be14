"""Every event type through a real Kafka broker and back, unchanged."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shoptrail.events import REGISTRY, MalformedEventError, decode, kafka_key, new_event
from shoptrail.events.producer import Producer
from shoptrail.events.publisher import EventPublisher
from shoptrail.testing import NewTopicFactory, TopicReader

pytestmark = pytest.mark.kafka


async def test_each_event_type_survives_kafka_identical(
    kafka_bootstrap: str, new_topic: NewTopicFactory, read_topic: TopicReader
) -> None:
    topic = await new_topic()
    occurred = datetime(2026, 2, 16, 14, 23, tzinfo=UTC)
    sent = [new_event(cls.example(), source="/tests", time=occurred) for cls in REGISTRY]

    async with Producer(kafka_bootstrap, client_id="test-publisher") as producer:
        publisher = EventPublisher(producer, topic)
        first = await publisher.publish(sent[0])
        rest = await publisher.publish_all(sent[1:])
    assert first.offset >= 0 and all(meta.offset >= 0 for meta in rest)

    records = await read_topic(topic, len(sent))
    received = {event.id: event for event in (decode(r.value) for r in records)}
    assert received == {event.id: event for event in sent}
    for record in records:
        event = received[decode(record.value).id]
        assert record.key == kafka_key(event)
        headers = dict(record.headers)
        assert headers["shoptrail-event-type"] == event.type.encode()
        assert not any(name.startswith("ce_") for name in headers)


async def test_one_orders_events_stay_in_order_on_one_partition(
    kafka_bootstrap: str, new_topic: NewTopicFactory, read_topic: TopicReader
) -> None:
    from shoptrail.events.fulfilment import OrderSubmissionFailed

    topic = await new_topic(partitions=3)
    events = [
        new_event(
            OrderSubmissionFailed(
                order_id=f"ord_{n % 4}",
                provider="Printful",
                reason="timeout",
                attempt=n // 4 + 1,
                max_attempts=50,
            ),
            source="/tests",
        )
        for n in range(80)
    ]
    async with Producer(kafka_bootstrap, client_id="test-publisher") as producer:
        await EventPublisher(producer, topic).publish_all(events)

    records = await read_topic(topic, len(events))
    by_order: dict[str, list[tuple[int, int]]] = {}
    for record in records:
        data = decode(record.value).data
        assert isinstance(data, OrderSubmissionFailed)
        by_order.setdefault(data.order_id, []).append((record.partition, data.attempt))
    for order_id, seen in by_order.items():
        assert len({partition for partition, _ in seen}) == 1, order_id
        per_partition = sorted(
            (r.offset, decode(r.value).data) for r in records if r.key == order_id.encode()
        )
        attempts = [data.attempt for _, data in per_partition]  # type: ignore[attr-defined]
        assert attempts == sorted(attempts) == list(range(1, 21))


async def test_a_malformed_message_on_kafka_is_rejected_with_a_clear_error(
    kafka_bootstrap: str, new_topic: NewTopicFactory, read_topic: TopicReader
) -> None:
    topic = await new_topic()
    async with Producer(kafka_bootstrap, client_id="test-publisher") as producer:
        await producer.send_and_wait(topic, b'{"specversion": "1.0", "type": "order.shipped"')
        await producer.send_and_wait(
            topic, b'{"specversion":"1.0","type":"order.shipped","data":{}}'
        )

    records = sorted(await read_topic(topic, 2), key=lambda r: len(r.value))
    with pytest.raises(MalformedEventError, match="not valid JSON"):
        decode(records[0].value)
    with pytest.raises(MalformedEventError, match=r"invalid 'order\.shipped' event"):
        decode(records[1].value)
