"""Status tracking: webhooks and polls report changes; each change is announced once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from shoptrail.events.ingest import OrderCreated, ProviderStatusReported
from shoptrail.fulfilment.devtools.fake_provider import StatusChange
from shoptrail.fulfilment.devtools.harness import Shop, TopicSize
from shoptrail.fulfilment.service_layer.tracking import poll_orders_at_provider

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]


async def submitted_order(shop: Shop, order_id: str) -> str:
    """Take an order through submission; the provider's order id."""
    created = OrderCreated.example().model_copy(update={"order_id": order_id})
    async with shop.worker():
        await shop.publish(created)
        (submitted,) = await shop.events(1)
    provider_order_id: str = submitted.data.model_dump()["provider_order_id"]
    return provider_order_id


def shipped_report(order_id: str, provider_order_id: str, status: str) -> ProviderStatusReported:
    return ProviderStatusReported(
        provider="Printify",
        provider_order_id=provider_order_id,
        order_id=order_id,
        status=status,
        carrier="DHL",
        tracking_number="1Z999",
        reported_at=datetime.now(UTC),
    )


async def test_webhook_and_poll_reporting_one_shipment_emit_one_shipped(
    shop: Shop, topic_size: TopicSize
) -> None:
    provider_id = await submitted_order(shop, "ord_both")
    shop.fake.change_status(
        provider_id, StatusChange(status="fulfilled", carrier="DHL", tracking_number="1Z999")
    )
    report = shipped_report("ord_both", provider_id, "shipped")

    # The webhook (delivered twice, as Kafka may) races three polls of the provider.
    await shop.publish(report)
    polls = [
        poll_orders_at_provider(uow=shop.services.uow(), providers=shop.services.providers)
        for _ in range(3)
    ]
    await asyncio.gather(shop.publish(report), *polls)
    # Same key, same partition: once `delivered` is consumed, both webhooks were too.
    await shop.publish(shipped_report("ord_both", provider_id, "delivered"))

    events = await shop.events(3)
    assert [e.type for e in events] == ["order.submitted", "order.shipped", "order.delivered"]
    assert events[1].message == "Shipped via DHL — tracking: 1Z999"
    await asyncio.sleep(0.5)  # let a stray duplicate, if there were one, reach the topic
    assert await topic_size(shop.settings.fulfilment_topic) == 3


async def test_a_poll_finds_changes_whose_webhooks_were_lost(shop: Shop) -> None:
    provider_id = await submitted_order(shop, "ord_polled")
    shop.fake.change_status(provider_id, StatusChange(status="in-production"))
    assert (
        await poll_orders_at_provider(uow=shop.services.uow(), providers=shop.services.providers)
        == 1
    )
    shop.fake.change_status(
        provider_id,
        StatusChange(
            status="fulfilled",
            carrier="UPS",
            tracking_number="1ZUPS",
            tracking_url="https://ups.example/1ZUPS",
            delivered=True,
        ),
    )
    assert (
        await poll_orders_at_provider(uow=shop.services.uow(), providers=shop.services.providers)
        == 1
    )
    events = await shop.events(3)
    assert [e.type for e in events] == ["order.submitted", "order.production", "order.delivered"]
    # Delivered orders are no longer polled.
    assert (
        await poll_orders_at_provider(uow=shop.services.uow(), providers=shop.services.providers)
        == 0
    )


async def test_a_stale_report_after_a_later_status_changes_nothing(
    shop: Shop, topic_size: TopicSize
) -> None:
    provider_id = await submitted_order(shop, "ord_stale")
    await shop.publish(shipped_report("ord_stale", provider_id, "shipped"))
    await shop.publish(shipped_report("ord_stale", provider_id, "in-production"))
    await shop.publish(shipped_report("ord_stale", provider_id, "canceled"))
    events = await shop.events(3)
    assert [e.type for e in events] == ["order.submitted", "order.shipped", "order.cancelled"]
    assert await shop.order_status("ord_stale") == "cancelled"
