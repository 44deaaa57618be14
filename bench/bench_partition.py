"""The log partitioned by month against today's one table, at BENCH_PARTITION_ROWS rows.

Two databases hold the same generated log (BENCH_PARTITION_ROWS rows, default
200,000; the issue's figure is 10,000,000) spread evenly over the last eleven
months and a bit: one migrated to 0010 (one table, the baseline), one to head
(partitioned by month). Rows are made with generate_series, indexes built after.

- retention of the oldest month: `prune` detaching and dropping it, against
  `prune`'s batched DELETE on the one table (same rows go; vacuum not counted);
- the feed's first page, and page 10,000 (50 a page; the middle of the log when
  it is smaller) from its keyset cursor: median of REPEAT reads, each side.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import time
from datetime import UTC, datetime
from typing import Any

from common import Row
from infra import connection_info, fresh_database
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from shoptrail.activity.adapters.migrate import migrate
from shoptrail.activity.adapters.partitions import ensure_partitions, is_partitioned, month_start
from shoptrail.activity.adapters.pruning import prune
from shoptrail.activity.adapters.queries import LogQueries
from shoptrail.activity.domain.feed import PAGE_SIZE, Cursor, FeedFilter

ROWS = int(os.environ.get("BENCH_PARTITION_ROWS", "200000"))
CHUNK = 1_000_000
REPEAT = 20
DEEP_PAGE = 10_000

GENERATE = """
INSERT INTO activity_log (id, event_id, event_type, source, category, level, order_id, message,
                          payload, occurred_at, inserted_at, resolved_at, resolution, fingerprint)
OVERRIDING SYSTEM VALUE
SELECT n, md5(n::text)::uuid, 'bench.' || (n % 7), '/bench',
       (ARRAY['orders', 'fulfilment', 'emails', 'syncs', 'carts', 'system'])[1 + n % 6],
       level, 'ord_' || n / 5,
       'Order #' || (1000 + n / 5) || ' ' || (ARRAY['placed', 'paid', 'shipped via DHL',
           'email sent to c' || n % 977 || '@example.com', 'synced', 'cart abandoned'])[1 + n % 6],
       jsonb_build_object('order_id', 'ord_' || n / 5, 'amount', n % 10000),
       at - make_interval(secs => n % 60), at,
       CASE WHEN problem AND (n / 100) % 50 <> 0 THEN at END,
       CASE WHEN problem AND (n / 100) % 50 <> 0 THEN 'resolved' END,
       CASE WHEN problem THEN 'fp' || n % 200 END
FROM (
    SELECT n, CAST(:start AS timestamptz) + make_interval(secs => n * :step) AS at,
           CASE WHEN n % 100 < 20 THEN 'debug' WHEN n % 100 < 90 THEN 'info'
                WHEN n % 100 < 98 THEN 'warning' ELSE 'error' END AS level,
           n % 100 >= 90 AS problem
    FROM generate_series(CAST(:lo AS bigint), :hi) n
) g
"""
"""Deterministic rows (the same in both databases): 20 % debug, 70 % info, 10 % warnings
and errors, of which 2 % still open; five entries an order."""

SECONDARY = """
SELECT indexname, indexdef FROM pg_indexes
WHERE tablename = 'activity_log' AND indexdef NOT LIKE 'CREATE UNIQUE%'
"""


def say(message: str) -> None:
    print(f"[bench] partition: {message}", file=sys.stderr, flush=True)


async def load(engine: AsyncEngine, start: datetime, now: datetime) -> None:
    """ROWS rows from `start` to `now`, indexes built afterwards, counts recounted."""
    step = (now - start).total_seconds() / ROWS
    async with engine.begin() as conn:
        partitioned = await is_partitioned(conn, "activity_log")
        if partitioned:
            await ensure_partitions(conn, "activity_log", since=start)
        indexes = (await conn.execute(text(SECONDARY))).all()
        for name, _ in indexes:
            await conn.execute(text(f"DROP INDEX {name}"))
        await conn.execute(text("ALTER TABLE activity_log DISABLE TRIGGER USER"))
    for lo in range(1, ROWS + 1, CHUNK):
        hi = min(lo + CHUNK - 1, ROWS)
        async with engine.begin() as conn:
            await conn.execute(text(GENERATE), {"start": start, "step": step, "lo": lo, "hi": hi})
        say(f"{hi:,} / {ROWS:,} rows")
    async with engine.begin() as conn:
        await conn.execute(text("SET maintenance_work_mem = '512MB'"))
        for name, definition in indexes:
            say(f"building {name}")
            await conn.execute(text(definition.replace(" ON ONLY ", " ON ", 1)))
        await conn.execute(text("ALTER TABLE activity_log ENABLE TRIGGER USER"))
        if partitioned:
            await conn.execute(
                text("INSERT INTO activity_log_event_ids SELECT event_id, id FROM activity_log")
            )
        await conn.execute(
            text("SELECT setval(pg_get_serial_sequence('activity_log', 'id'), :n)"), {"n": ROWS}
        )
        reset = await conn.scalar(text("SELECT to_regproc('activity_counts_reset')"))
        if reset:  # counts kept as deltas (the replicas branch's migration 0011)
            await conn.execute(text("SELECT activity_counts_reset('activity_log')"))
        else:
            await conn.execute(text("DELETE FROM activity_counts"))
            await conn.execute(
                text(
                    "INSERT INTO activity_counts (category, level, open, n) SELECT category, "
                    "level, resolved_at IS NULL, count(*) FROM activity_log GROUP BY 1, 2, 3"
                )
            )
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        say("vacuum analyze")
        await conn.execute(text("VACUUM ANALYZE"))


async def median_read(queries: LogQueries, cursor: Cursor | None) -> float:
    await queries.feed(FeedFilter(), cursor=cursor)  # warm
    times = []
    for _ in range(REPEAT):
        started = time.perf_counter()
        page = await queries.feed(FeedFilter(), cursor=cursor)
        times.append(time.perf_counter() - started)
        assert len(page.entries) == PAGE_SIZE
    return statistics.median(times)


async def measure(url: str, revision: str, start: datetime, now: datetime) -> dict[str, Any]:
    await migrate(url, revision)
    engine = create_async_engine(url)
    try:
        await load(engine, start, now)
        depth = min(DEEP_PAGE * PAGE_SIZE, ROWS // 2)
        async with engine.connect() as conn:
            row = (
                await conn.execute(
                    text(
                        "SELECT occurred_at, id FROM activity_log WHERE level <> 'debug' "
                        "ORDER BY occurred_at DESC, id DESC OFFSET :k LIMIT 1"
                    ),
                    {"k": depth - 1},
                )
            ).one()
        queries = LogQueries(engine)
        first = await median_read(queries, None)
        deep = await median_read(queries, Cursor(row.occurred_at, row.id))
        say(f"{revision}: pruning the oldest month")
        started = time.perf_counter()
        deleted = await prune(engine, retention=now - month_start(start, 1), now=now)
        retention = time.perf_counter() - started
        return {"first": first, "deep": deep, "page": depth // PAGE_SIZE + 1,
                "retention": retention, "deleted": deleted}  # fmt: skip
    finally:
        await engine.dispose()


async def run_async() -> list[Row]:
    _, url = connection_info()
    now = datetime.now(UTC)
    start = month_start(now, -11)
    say(f"one table, {ROWS:,} rows")
    plain = await measure(await fresh_database(url, "bench_partition_plain"), "0010", start, now)
    say(f"partitioned, {ROWS:,} rows")
    parted = await measure(await fresh_database(url, "bench_partition_parted"), "head", start, now)
    assert parted["deleted"] == plain["deleted"], (parted["deleted"], plain["deleted"])
    size = f"{ROWS:,} rows"
    return [
        Row("partition", f"retention of 1 month ({plain['deleted']:,} of {size}): drop vs DELETE",
            parted["retention"], plain["retention"], "s"),
        Row("partition", f"feed page 1 at {size}: partitioned vs one table",
            parted["first"] * 1000, plain["first"] * 1000, "ms"),
        Row("partition", f"feed page {parted['page']:,} at {size}: partitioned vs one table",
            parted["deep"] * 1000, plain["deep"] * 1000, "ms"),
    ]  # fmt: skip


def run() -> list[Row]:
    return asyncio.run(run_async())
