"""The log partitioned by month: inserts, one row per event, retention by month, migration."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from shoptrail.activity.adapters import log_migration, rebuild
from shoptrail.activity.adapters.migrate import migrate
from shoptrail.activity.adapters.partitions import add_month, ensure_partitions, month_start
from shoptrail.activity.adapters.pruning import prune
from shoptrail.activity.adapters.queries import LogQueries
from shoptrail.activity.adapters.store import PostgresLogStore
from shoptrail.activity.domain.entries import entry_from_event
from shoptrail.activity.domain.feed import FeedFilter, Tab
from shoptrail.events import new_event
from shoptrail.events.fulfilment import OrderShipped, OrderSubmissionFailed
from shoptrail.events.ingest import EmailBounced, OrderCreated

pytestmark = pytest.mark.postgres
Log = Callable[..., Awaitable[list[int]]]

INSERT = """
INSERT INTO activity_log (event_id, event_type, source, category, level, message, payload,
                          occurred_at, inserted_at)
VALUES (:event_id, 'order.shipped', '/t', 'fulfilment', 'info', 'Shipped', '{}',
        :at, :at)
"""
WHERE_IS = "SELECT tableoid::regclass::text FROM activity_log WHERE event_id = :e"
RECOUNT = """
SELECT coalesce(sum(n), 0) FROM (
    SELECT category, level, open, n FROM activity_counts
    EXCEPT ALL
    SELECT category, level, resolved_at IS NULL, count(*) FROM activity_log GROUP BY 1, 2, 3
) wrong
"""
"""Count rows that disagree with a recount of the log (0: counts exact)."""


async def scalar(engine: AsyncEngine, sql: str, **params: Any) -> Any:
    async with engine.connect() as conn:
        return await conn.scalar(text(sql), params)


async def test_rows_go_to_their_month_and_odd_times_to_default_and_move_out_later(
    engine: AsyncEngine,
) -> None:
    now = datetime.now(UTC)
    next_month = month_start(now, 1)
    far = month_start(now, 40)
    ids = {name: uuid.uuid4() for name in ("last", "first", "far")}
    async with engine.begin() as conn:
        for name, at in (
            ("last", next_month - timedelta(microseconds=1)),  # this month's last instant
            ("first", next_month),  # the next month's first
            ("far", far + timedelta(days=3)),  # no partition: the safety net takes it
        ):
            await conn.execute(text(INSERT), {"event_id": ids[name], "at": at})
    where = {name: await scalar(engine, WHERE_IS, e=event) for name, event in ids.items()}
    assert where == {
        "last": f"activity_log_p{now:%Y%m}",
        "first": f"activity_log_p{next_month:%Y%m}",
        "far": "activity_log_default",
    }
    async with engine.begin() as conn:  # the month is made later: its rows move into it
        assert await add_month(conn, "activity_log", far) == f"activity_log_p{far:%Y%m}"
    assert await scalar(engine, WHERE_IS, e=ids["far"]) == f"activity_log_p{far:%Y%m}"
    assert await scalar(engine, RECOUNT) == 0
    assert await scalar(engine, "SELECT count(*) FROM activity_log") == 3


async def test_an_event_is_logged_once_across_months(engine: AsyncEngine, log: Log) -> None:
    event = new_event(OrderShipped.example(), source="/t")
    (first,) = await log(event)
    async with engine.begin() as conn:  # its month is now long ago
        await conn.execute(
            text("UPDATE activity_log SET inserted_at = now() - interval '200 days'")
        )
    store = PostgresLogStore(engine)
    again = await store.write([entry_from_event(event), entry_from_event(event)])
    assert (again.inserted_ids, again.duplicates) == ([], 2), "a redelivery is skipped"
    with pytest.raises(Exception, match="an event is logged once"):
        async with engine.begin() as conn:  # by hand, in another month: refused
            await conn.execute(text(INSERT), {"event_id": event.id, "at": datetime.now(UTC)})
    assert await scalar(engine, "SELECT count(*) FROM activity_log") == 1
    assert await scalar(engine, "SELECT log_id FROM activity_log_event_ids") == first


async def test_retention_drops_a_month_keeps_open_problems_visible_and_counts_exact(
    engine: AsyncEngine, log: Log
) -> None:
    now = datetime.now(UTC)
    old_month = month_start(now, -5)
    async with engine.begin() as conn:
        await ensure_partitions(conn, "activity_log", since=old_month, months_ahead=0)
    old_info, open_error, resolved_error, new_info = await log(
        new_event(OrderShipped.example(), source="/t"),
        new_event(OrderSubmissionFailed.example(), source="/t"),
        new_event(EmailBounced.example(), source="/t"),
        new_event(OrderCreated.example(), source="/t"),
    )
    async with engine.begin() as conn:
        await conn.execute(
            text("UPDATE activity_log SET inserted_at = :at WHERE id = ANY(:ids)"),
            {"at": old_month + timedelta(days=2), "ids": [old_info, open_error, resolved_error]},
        )
        await conn.execute(
            text("UPDATE activity_log SET resolved_at = now(), resolution = 'resolved' "
                 "WHERE id = :i"),
            {"i": resolved_error},
        )  # fmt: skip
    partition = f"activity_log_p{old_month:%Y%m}"
    assert await scalar(engine, WHERE_IS, e=await event_of(engine, old_info)) == partition
    badge_before = await LogQueries(engine).attention_count()

    deleted = await prune(engine, retention=timedelta(days=90), now=now)

    assert deleted == 2
    assert await scalar(engine, "SELECT to_regclass(:p)", p=partition) is None, "dropped whole"
    left = (await LogQueries(engine).feed(FeedFilter(tab=Tab.ATTENTION))).entries
    assert [e["id"] for e in left] == [open_error], "the open error is still needing attention"
    assert await scalar(engine, WHERE_IS, e=await event_of(engine, open_error)) == (
        "activity_log_default"
    )
    assert await scalar(engine, RECOUNT) == 0, "counts equal a recount of the log"
    assert await scalar(engine, "SELECT sum(n) FROM activity_counts") == 2
    assert await LogQueries(engine).attention_count() == badge_before
    kept_ids = await scalar(engine, "SELECT array_agg(log_id ORDER BY log_id) FROM "
                            "activity_log_event_ids")  # fmt: skip
    assert kept_ids == sorted([open_error, new_info]), "dropped entries release their event ids"
    assert await prune(engine, retention=timedelta(days=90), now=now) == 0, "nothing twice"


async def event_of(engine: AsyncEngine, entry_id: int) -> uuid.UUID:
    found: uuid.UUID = await scalar(
        engine, "SELECT event_id FROM activity_log WHERE id = :i", i=entry_id
    )
    return found


async def test_a_replay_swap_makes_a_partitioned_log(engine: AsyncEngine, log: Log) -> None:
    await log(new_event(OrderShipped.example(), source="/t"))
    replayed = new_event(OrderCreated.example(), source="/t")
    async with engine.begin() as conn:
        deferred = await rebuild.prepare(conn)
    await PostgresLogStore(engine, tables=rebuild.REBUILD).write([entry_from_event(replayed)])
    async with engine.begin() as conn:
        await rebuild.build_indexes(conn, deferred)
        await rebuild.swap(conn)
    month = f"activity_log_p{datetime.now(UTC):%Y%m}"
    assert await scalar(engine, WHERE_IS, e=replayed.id) == month
    assert await scalar(engine, "SELECT relkind::text FROM pg_class WHERE relname = "
                        "'activity_log_previous'") == "p"  # fmt: skip
    assert await scalar(engine, "SELECT count(*) FROM activity_log_event_ids") == 1
    again = await PostgresLogStore(engine).write([entry_from_event(replayed)])
    assert again.duplicates == 1, "the swapped-in side table guards the live log"


OLD_ROWS = """
INSERT INTO activity_log (event_id, event_type, source, category, level, message, payload,
                          occurred_at, inserted_at)
SELECT gen_random_uuid(), 'order.submission_failed', '/t', 'fulfilment',
       CASE WHEN n % 3 = 0 THEN 'error' ELSE 'info' END, 'Row ' || n, '{}',
       now() - make_interval(mins => n), now() - make_interval(days => n % 100)
FROM generate_series(1, :rows) n
"""
RESOLVE_ONE = """
UPDATE activity_log SET resolved_at = now(), resolution = 'resolved'
WHERE id = (SELECT id FROM activity_log WHERE resolved_at IS NULL ORDER BY random() LIMIT 1)
"""
DELETE_ONE = "DELETE FROM activity_log WHERE id = (SELECT max(id) - 7 FROM activity_log)"
SAME = """
SELECT (SELECT count(*) FROM (TABLE activity_log EXCEPT ALL TABLE activity_log_unpartitioned) a)
     + (SELECT count(*) FROM (TABLE activity_log_unpartitioned EXCEPT ALL TABLE activity_log) b)
"""


@pytest.mark.slow
async def test_the_online_migration_copies_while_writes_go_on_losing_and_doubling_nothing(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    await migrate(database_url, "0010")
    engine = create_async_engine(database_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text(OLD_ROWS), {"rows": 3000})
        monkeypatch.setattr(log_migration, "INLINE_COPY_LIMIT", 100)
        await migrate(database_url)  # too big to copy inline: built, mirrored, left to copy
        assert await scalar(engine, log_migration.IS_PARTITIONED) is False

        store, written, copying = PostgresLogStore(engine), [], asyncio.Event()

        async def one_row(sql: str) -> None:
            async with engine.begin() as conn:  # one row a transaction, as the service does
                await conn.execute(text(sql))

        async def write_meanwhile(times: int) -> None:
            await copying.wait()
            for _ in range(times):  # inserts, redeliveries, resolutions, deletions
                event = new_event(OrderSubmissionFailed.example(), source="/t")
                await store.write([entry_from_event(event)] * 2)
                written.append(event.id)
                await one_row(RESOLVE_ONE)
                await one_row(DELETE_ONE)

        batches: list[int] = []

        def progress(p: log_migration.CopyProgress) -> None:
            copying.set()
            batches.append(p.copied)

        copied, _ = await asyncio.gather(
            log_migration.copy_log(engine, batch_size=100, progress=progress),
            write_meanwhile(5),
        )
        await write_meanwhile(2)  # after the copy: the mirror alone carries these
        rows = await log_migration.swap_log(engine)

        assert len(batches) >= 30 and copied.copied > 0
        assert await scalar(engine, SAME) == 0, "every row, as it is now, once"
        assert rows == await scalar(engine, "SELECT count(*) FROM activity_log_unpartitioned")
        assert await scalar(engine, log_migration.IS_PARTITIONED) is True
        assert await scalar(engine, RECOUNT) == 0
        assert await scalar(
            engine, "SELECT count(*) = count(DISTINCT event_id) FROM activity_log"
        ), "no event twice"
        after = await PostgresLogStore(engine).write(
            [entry_from_event(new_event(OrderShipped.example(), source="/t"))]
        )
        newest = await scalar(engine, "SELECT max(id) FROM activity_log_unpartitioned")
        assert after.inserted_ids[0] > newest, "ids go on from the old table's"
        assert set(written) <= set(
            await scalar(engine, "SELECT array_agg(event_id) FROM activity_log_event_ids")
        )
    finally:
        await engine.dispose()
