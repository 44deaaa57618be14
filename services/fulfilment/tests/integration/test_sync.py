"""Product sync: on demand or periodic; counts what changed; failures name the reason."""

from __future__ import annotations

import pytest

from shoptrail.events import Event, EventData
from shoptrail.fulfilment.devtools.fake_provider import Fault
from shoptrail.fulfilment.devtools.harness import Shop

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]


async def sync_events(shop: Shop, count: int) -> list[Event[EventData]]:
    """Sync events have no order to key them, so they spread over partitions: order by time."""
    return sorted(await shop.events(count), key=lambda e: (e.time, e.id))


def tee(product_id: str, title: str = "Mountain Tee", price: int = 3800) -> dict[str, object]:
    return {"id": product_id, "title": title, "variants": [{"id": 1, "price": price}]}


async def test_a_sync_upserts_products_and_counts_what_changed(shop: Shop) -> None:
    shop.fake.products["Printify"] = [tee("p1"), tee("p2"), tee("p3")]
    first = await shop.api.post("/syncs", json={"provider": "Printify"})
    second = await shop.api.post("/syncs", json={"provider": "Printify"})
    assert first.status_code == 202
    assert second.status_code == 409
    assert second.json() == {"detail": "already queued", "job_id": first.json()["job_id"]}
    async with shop.worker():
        events = await sync_events(shop, 2)
        assert [e.type for e in events] == ["sync.started", "sync.completed"]
        assert events[1].data.model_dump() | {"sync_id": None} == {
            "sync_id": None,
            "provider": "Printify",
            "total": 3,
            "created": 3,
            "updated": 0,
            "removed": 0,
        }

        shop.fake.products["Printify"] = [tee("p1"), tee("p2", price=4200), tee("p4")]
        assert (await shop.api.post("/syncs", json={"provider": "Printify"})).status_code == 202
        events = await sync_events(shop, 4)
    counts = events[3].data.model_dump()
    assert (counts["total"], counts["created"], counts["updated"], counts["removed"]) == (
        3,
        1,
        1,
        1,
    )
    assert await shop.sql("SELECT count(*) FROM fulfilment_products") == 3


async def test_a_failed_sync_says_why(shop: Shop) -> None:
    shop.fake.plan(
        Fault(kind="error", operation="list_products", status=400, message="Unknown store filter")
    )
    async with shop.worker():
        assert (await shop.api.post("/syncs", json={"provider": "Printful"})).status_code == 202
        events = await sync_events(shop, 2)
    assert [e.type for e in events] == ["sync.started", "sync.failed"]
    assert (
        events[1].message
        == "Product sync failed: Printful refused the request: Unknown store filter"
    )
