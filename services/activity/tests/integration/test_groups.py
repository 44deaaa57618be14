"""Grouped failures on real PostgreSQL and Kafka: fold, dedupe, resolve, reopen, replay."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from shoptrail.activity.adapters.store import PostgresLogStore
from shoptrail.activity.adapters.topic_reader import TopicReader
from shoptrail.activity.domain.entries import entry_from_event
from shoptrail.activity.service_layer.replay import replay
from shoptrail.events import Event, EventData, new_event
from shoptrail.events.fulfilment import OrderSubmissionFailed, OrderSubmitted

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]
Eventually = Callable[..., Awaitable[Any]]


def failure(order: int, attempt: int) -> Event[EventData]:
    """The same provider outage, its details varying per order and attempt."""
    data = OrderSubmissionFailed(
        order_id=f"ord_{order:04d}",
        provider="Printify",
        reason=f"timeout after {20 + attempt}s (request {attempt * 7919:06d})",
        attempt=attempt,
        max_attempts=5,
    )
    return new_event(data, source="/services/fulfilment")


def outage(orders: int = 10, attempts: int = 5) -> list[Event[EventData]]:
    return [failure(o, a) for o in range(orders) for a in range(1, attempts + 1)]


async def groups(api: httpx.AsyncClient, state: str = "all") -> list[dict[str, Any]]:
    response = await api.get("/api/groups", params={"state": state})
    assert response.status_code == 200, response.text
    result: list[dict[str, Any]] = response.json()
    return result


async def counts(api: httpx.AsyncClient) -> dict[str, int]:
    badge = (await api.get("/api/attention/count")).json()["count"]
    both: dict[str, int] = (await api.get("/api/attention/counts")).json()
    assert both["groups"] == badge
    return both


async def test_an_outage_through_kafka_is_one_group_resolved_and_reopened_and_replayed(
    api: httpx.AsyncClient, namespace: Any, engine: AsyncEngine, eventually: Eventually
) -> None:
    story = outage()
    await namespace.publish(story)

    async def folded() -> list[dict[str, Any]] | None:
        found = await groups(api)
        return found if found and found[0]["count"] == 50 else None

    [group] = await eventually(folded)
    assert (group["open"], group["open_count"], group["orders_affected"]) == (True, 50, 10)
    assert group["title"] == ("Submission to Printify failed: timeout after <n>s (request <n>)")
    assert await counts(api) == {"groups": 1, "entries": 50}

    # Redelivered (the same events again, as after a consumer crash): nothing counts twice.
    await namespace.publish(story[:20])
    marker = failure(99, 1)  # a different order: once it is in, the redelivery was read
    await namespace.publish([marker])
    await eventually(lambda: _count_is(api, 51))
    [group] = await groups(api)
    assert (group["count"], group["orders_affected"]) == (51, 11)

    detail = (await api.get(f"/api/groups/{group['fingerprint']}")).json()
    assert len(detail["entries"]) == 51
    assert {o["order_id"] for o in detail["orders"]} == {f"ord_{o:04d}" for o in (*range(10), 99)}

    resolved = (
        await api.post(f"/api/groups/{group['fingerprint']}/resolve", json={"note": "outage"})
    ).json()
    assert resolved["resolved"] == 51
    assert await counts(api) == {"groups": 0, "entries": 0}
    [group] = await groups(api)
    assert (group["open"], group["open_count"]) == (False, 0)
    attention = (await api.get("/api/feed", params={"tab": "attention"})).json()
    assert attention["entries"] == []

    # Seen again after the resolve: a regression; the group reopens, the badge rises.
    await namespace.publish([failure(3, 9)])
    await eventually(lambda: _count_is(api, 52))
    [group] = await groups(api)
    assert (group["open"], group["open_count"], group["regressions"]) == (True, 1, 1)
    assert await counts(api) == {"groups": 1, "entries": 1}

    before = await _groups_table(engine)
    stats = await replay(engine=engine, reader=TopicReader(namespace.bootstrap, namespace.pattern))
    assert stats.swapped
    after = await _groups_table(engine)
    assert after == before  # same groups: counts, orders, open state (regressions aside)
    assert await counts(api) == {"groups": 1, "entries": 1}


async def _count_is(api: httpx.AsyncClient, n: int) -> bool:
    found = await groups(api)
    return bool(found) and found[0]["count"] == n


async def _groups_table(engine: AsyncEngine) -> list[tuple[Any, ...]]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT g.fingerprint, g.title, g.count, g.open_count, g.resolved_at IS NULL, "
                "g.first_seen, g.last_seen, array_agg(o.order_id ORDER BY o.order_id) "
                "FROM activity_groups g JOIN activity_group_orders o USING (fingerprint) "
                "GROUP BY 1, 2, 3, 4, 5, 6, 7 ORDER BY 1"
            )
        )
        return [tuple(r) for r in rows.all()]


@pytest.mark.parametrize("writers", [4])
async def test_concurrent_writers_of_the_same_failure_neither_deadlock_nor_miscount(
    engine: AsyncEngine, writers: int
) -> None:
    store = PostgresLogStore(engine)
    chunks = [[entry_from_event(failure(o, a)) for o in range(10)] for a in range(1, 21)]

    async def write(mine: list[list[Any]]) -> None:
        for chunk in mine:
            await store.write(chunk)

    await asyncio.gather(*(write(chunks[i::writers]) for i in range(writers)))
    await asyncio.gather(*(write(chunks[i::writers]) for i in range(writers)))  # all again
    async with engine.connect() as conn:
        row = (await conn.execute(text("SELECT count, open_count FROM activity_groups"))).one()
        orders = await conn.scalar(text("SELECT count(*) FROM activity_group_orders"))
    assert (tuple(row), orders) == ((200, 200), 10)


async def test_a_group_resolves_with_its_last_open_entry(
    quiet_api: httpx.AsyncClient, log: Callable[..., Awaitable[list[int]]]
) -> None:
    """Resolving entries one by one (or a success auto-resolving them) resolves the group
    when none is left open; until then it stays open, its open count going down."""
    ids = await log(failure(1, 1), failure(2, 1), failure(2, 2))
    await quiet_api.post(f"/api/entries/{ids[0]}/resolve", json={})
    [group] = await groups(quiet_api)
    assert (group["open"], group["open_count"]) == (True, 2)

    submitted = OrderSubmitted(order_id="ord_0002", provider="Printify", provider_order_id="P1")
    await log(new_event(submitted, source="/services/fulfilment"))  # auto-resolves order 2's
    [group] = await groups(quiet_api)
    assert (group["open"], group["open_count"], group["count"]) == (False, 0, 3)
    assert (await quiet_api.get("/api/attention/count")).json()["count"] == 0


async def test_an_unknown_group_is_a_404(quiet_api: httpx.AsyncClient) -> None:
    missing = "0" * 32
    assert (await quiet_api.get(f"/api/groups/{missing}")).status_code == 404
    assert (await quiet_api.post(f"/api/groups/{missing}/resolve", json={})).status_code == 404
    assert (await quiet_api.get("/api/groups/not-a-key")).status_code == 422
