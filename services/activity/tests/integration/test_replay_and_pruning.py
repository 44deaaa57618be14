"""Replay rebuilds the same log from the topics; pruning keeps unresolved problems."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from shoptrail.activity.adapters import rebuild
from shoptrail.activity.adapters.pruning import prune
from shoptrail.activity.adapters.topic_reader import TopicReader
from shoptrail.activity.service_layer.replay import ReplayStats, replay
from shoptrail.events import REGISTRY, Event, EventData, new_event, topics
from shoptrail.events.fulfilment import OrderShipped, OrderSubmissionFailed, OrderSubmitted
from shoptrail.events.ingest import EmailBounced, OrderCreated

Eventually = Callable[..., Awaitable[Any]]
Log = Callable[..., Awaitable[list[int]]]

SNAPSHOT = """
SELECT event_id, event_type, source, category, level, order_id, message, payload::text,
       occurred_at, resolution, resolution_note, resolved_at IS NOT NULL AS resolved
FROM activity_log ORDER BY event_id
"""
ORDERS = "SELECT * FROM orders ORDER BY order_id"
INDEXES = """
SELECT tablename, indexname, indexdef FROM pg_indexes
WHERE tablename IN ('activity_log', 'activity_log_event_ids', 'orders') ORDER BY 1, 2
"""


async def live_indexes(engine: AsyncEngine) -> list[Any]:
    async with engine.connect() as conn:
        return list((await conn.execute(text(INDEXES))).all())


async def snapshot(engine: AsyncEngine) -> tuple[list[Any], list[Any], list[Any]]:
    async with engine.connect() as conn:
        log = list((await conn.execute(text(SNAPSHOT))).all())
        orders = [
            {k: v for k, v in row._mapping.items() if k != "updated_at"}
            for row in (await conn.execute(text(ORDERS))).all()
        ]
        counts = list(
            (
                await conn.execute(
                    text("SELECT * FROM activity_counts WHERE n > 0 ORDER BY 1, 2, 3")
                )
            ).all()
        )
    return log, orders, counts


async def badge(api: httpx.AsyncClient) -> int:
    count: int = (await api.get("/api/attention/count")).json()["count"]
    return count


@pytest.mark.kafka
@pytest.mark.postgres
async def test_replay_reproduces_the_live_log_while_the_service_keeps_serving(
    api: httpx.AsyncClient, namespace: Any, engine: AsyncEngine, eventually: Eventually
) -> None:
    order = OrderCreated.example().order_id
    failure = OrderSubmissionFailed.example()
    story: list[Event[EventData]] = [
        new_event(cls.example(), source="/tests") for cls in REGISTRY.types()
    ]
    story += [
        new_event(failure, source="/tests"),
        new_event(OrderSubmitted.example(), source="/tests"),  # auto-resolves the failures
        new_event(EmailBounced.example(), source="/tests"),  # resolved by hand below
    ]
    await namespace.publish(story)
    await namespace.publish(story[:5])  # duplicates
    await namespace.publish_raw(topics.INGEST, b"garbage", key=order.encode())

    async def settled() -> bool:
        feed = (await api.get("/api/feed", params={"include_debug": True})).json()
        return bool(feed["total"] == len(story) + 1)

    await eventually(settled)
    attention = (await api.get("/api/feed", params={"tab": "attention", "limit": 200})).json()
    bounce = next(e for e in attention["entries"] if e["event_type"] == "email.bounced")
    await api.post(f"/api/entries/{bounce['id']}/resolve", json={"note": "address fixed"})
    before = await snapshot(engine)
    badge_before = await badge(api)
    indexes_before = await live_indexes(engine)

    seen: list[ReplayStats] = []
    replaying = asyncio.create_task(
        replay(
            engine=engine,
            reader=TopicReader(namespace.bootstrap, namespace.pattern),
            batch_size=7,
            progress=lambda s: seen.append(ReplayStats(**vars(s))),
        )
    )
    while not replaying.done():  # the live API answers throughout
        assert (await api.get("/api/attention/count")).status_code == 200
        await asyncio.sleep(0.01)
    stats = replaying.result()

    assert stats.swapped
    assert stats.read == len(story) + 5 + 1
    assert stats.inserted == len(story) + 1
    assert stats.duplicates == 5
    assert stats.dead_lettered == 1
    assert stats.resolutions_kept == 1
    assert seen[-1].read == stats.read and len(seen) > 3, "progress was reported as it went"
    after = await snapshot(engine)
    assert after[0] == before[0], "log entries differ after replay"
    assert after[1] == before[1], "order read model differs after replay"
    assert after[2] == before[2], "counts differ after replay"
    assert await live_indexes(engine) == indexes_before, "the migration's indexes, by name"
    assert await badge(api) == badge_before

    # The live consumer carries on into the swapped-in table.
    late = new_event(OrderShipped.example(), source="/tests")
    await namespace.publish([late])

    async def logged() -> bool:
        found = await api.get("/api/orders/ord_01J9Z8K4/timeline")
        return any(e["event_id"] == str(late.id) for e in found.json())

    await eventually(logged)


@pytest.mark.postgres
async def test_rebuild_tables_load_with_the_indexes_writes_read_and_get_the_rest_after(
    engine: AsyncEngine,
) -> None:
    async def matched() -> set[str]:
        """The live indexes the rebuild tables have an index of the same definition for."""
        return {
            live
            for pair in rebuild.PAIRS
            for live, _ in await rebuild.matching_indexes(conn, pair[0], pair[1])
        }

    async with engine.begin() as conn:
        every = {row.indexname for row in (await conn.execute(text(INDEXES))).all()}
        deferred = await rebuild.prepare(conn)
        during_load = await matched()
        await rebuild.build_indexes(conn, deferred)
        after_load = await matched()

    assert during_load == {
        "activity_log_pkey", "activity_log_event_ids_pkey", "orders_pkey",  # unique: dedup
        "activity_log_timeline", "activity_log_category",  # auto-resolve's look-ups
    }  # fmt: skip
    assert "activity_log_search" in every - during_load
    assert after_load == every


@pytest.mark.kafka
@pytest.mark.postgres
async def test_a_dry_run_counts_and_writes_nothing(namespace: Any, engine: AsyncEngine) -> None:
    events = [new_event(OrderShipped.example(), source="/t") for _ in range(10)]
    await namespace.publish(events + events[:3])
    stats = await replay(
        engine=engine, reader=TopicReader(namespace.bootstrap, namespace.pattern), dry_run=True
    )
    assert (stats.read, stats.inserted, stats.duplicates) == (13, 10, 3)
    assert not stats.swapped
    async with engine.connect() as conn:
        assert await conn.scalar(text("SELECT count(*) FROM activity_log")) == 0
        assert await conn.scalar(text("SELECT to_regclass('activity_log_rebuild')")) is None


@pytest.mark.postgres
async def test_pruning_removes_old_entries_but_keeps_unresolved_problems(
    engine: AsyncEngine, log: Log
) -> None:
    old_info, old_open_error, old_resolved_error, new_info = await log(
        new_event(OrderShipped.example(), source="/t"),
        new_event(OrderSubmissionFailed.example(), source="/t"),
        new_event(EmailBounced.example(), source="/t"),
        new_event(OrderCreated.example(), source="/t"),
    )
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "UPDATE activity_log SET inserted_at = now() - interval '91 days' "
                "WHERE id = ANY(:ids)"
            ),
            {"ids": [old_info, old_open_error, old_resolved_error]},
        )
        await conn.execute(
            text(
                "UPDATE activity_log SET resolved_at = now(), resolution = 'resolved' WHERE id = :i"
            ),
            {"i": old_resolved_error},
        )
    deleted = await prune(engine, retention=timedelta(days=90), now=datetime.now(UTC))
    assert deleted == 2
    async with engine.connect() as conn:
        left = set((await conn.scalars(text("SELECT id FROM activity_log"))).all())
        counts = await conn.scalar(text("SELECT sum(n) FROM activity_counts"))
    assert left == {old_open_error, new_info}
    assert counts == 2, "the counters follow deletions"


async def test_pruning_old_changes_keeps_the_newest_so_the_log_knows_where_it_stands(
    engine: AsyncEngine, log: Log
) -> None:
    """A page rendered after a quiet day must get the log's real change number, not 0
    (which would make every later change look like a gap too old to fill)."""
    for _ in range(3):
        await log(new_event(OrderShipped.example(), source="/t"))
    async with engine.begin() as conn:
        newest = await conn.scalar(text("SELECT activity_number_changes()"))  # the sequencer
        await conn.execute(
            text("UPDATE activity_changes SET created_at = now() - interval '2 days'")
        )
    await prune(engine, retention=timedelta(days=90), now=datetime.now(UTC))
    async with engine.connect() as conn:
        kept = list((await conn.scalars(text("SELECT seq FROM activity_changes"))).all())
    assert kept == [newest]
