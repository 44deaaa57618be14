"""Three replicas writing the log at once: how much of their transactions is waiting on locks.

Three writer processes (the activity store, as each replica's consumer runs it,
small batches: BENCH_REPLICAS_BATCH entries, many transactions) write for
BENCH_REPLICAS_SECONDS into one database while a fourth connection samples
`pg_stat_activity` every few ms. A sample of a writer inside a transaction
counts towards its transaction time; if it is waiting on a heavyweight lock
(`wait_event_type = 'Lock'`, which is what an ungranted `pg_locks` row shows
as) it also counts as lock wait. The figure is lock wait as a share of
transaction time, by what was waited on.

Baseline, in the same run: main's write path, the schema at migration 0010
(every writer takes one advisory lock and NOTIFYs at commit, and adds to shared
count rows). Then the head (0011): un-numbered changes and count deltas, each
process's hub numbering its changes after commit. Goal: ≤ 5 % with three
writers. A second head run writes a failure storm (every entry the same error,
so the same group row): the fixed-order group update is per fingerprint, and
this is what it costs when every replica logs the same failure at once.
"""

from __future__ import annotations

import asyncio
import collections
import multiprocessing
import os
import sys
import time
import uuid
from typing import Any

import asyncpg
from common import Goal, Row
from infra import asyncpg_dsn, connection_info, fresh_database
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from shoptrail.activity.adapters.changes import ChangeLog
from shoptrail.activity.adapters.migrate import migrate
from shoptrail.activity.adapters.store import PostgresLogStore
from shoptrail.activity.domain.entries import entry_from_event
from shoptrail.activity.realtime.hub import Hub
from shoptrail.events import new_event
from shoptrail.events.fulfilment import OrderShipped, OrderSubmissionFailed

WRITERS = 3
SECONDS = float(os.environ.get("BENCH_REPLICAS_SECONDS", "8"))
BATCH = int(os.environ.get("BENCH_REPLICAS_BATCH", "20"))
SAMPLE_EVERY = 0.003

SAMPLE = """
SELECT application_name, wait_event_type, wait_event
FROM pg_stat_activity
WHERE application_name LIKE 'bench-writer-%' AND xact_start IS NOT NULL
"""


def _event(writer: int, n: int, storm: bool) -> Any:
    order = f"ord_{writer}_{n}"
    if storm or n % 20 == 0:  # one entry in twenty an error, of ten kinds; or all of one
        reason = "out of stock" if storm else f"out of stock: {'abcdefghij'[n // 20 % 10]}"
        data: Any = OrderSubmissionFailed.example().model_copy(
            update={"order_id": order, "reason": reason}
        )
    else:
        data = OrderShipped.example().model_copy(update={"order_id": order})
    return new_event(data, source="/bench")


async def _write(url: str, writer: int, storm: bool, sequencer: bool, ready: Any, go: Any) -> int:
    dsn = asyncpg_dsn(url)
    engine = create_async_engine(
        url, connect_args={"server_settings": {"application_name": f"bench-writer-{writer}"}}
    )
    hub_engine = create_async_engine(url)
    store = PostgresLogStore(engine)
    hub = Hub(ChangeLog(hub_engine), dsn) if sequencer else None
    if hub is not None:
        await hub.start()
        store.after_commit = hub.kick  # as bootstrap wires a replica
    async with engine.connect() as conn:  # the pool's first connection, before the window
        await conn.execute(text("SELECT 1"))
    ready.put(writer)
    await asyncio.to_thread(go.wait)
    until = time.monotonic() + SECONDS
    written = 0
    try:
        while time.monotonic() < until:
            batch = [entry_from_event(_event(writer, written + i, storm)) for i in range(BATCH)]
            written += len((await store.write(batch)).inserted_ids)
    finally:
        if hub is not None:
            await hub.stop()
        await engine.dispose()
        await hub_engine.dispose()
    return written


def _writer_process(
    url: str, writer: int, storm: bool, sequencer: bool, ready: Any, go: Any, q: Any
) -> None:
    q.put(asyncio.run(_write(url, writer, storm, sequencer, ready, go)))


async def _sample(dsn: str, seconds: float) -> tuple[int, collections.Counter[str]]:
    """(samples of a writer in a transaction, lock-wait samples by what was waited on)."""
    conn = await asyncpg.connect(dsn)
    in_xact = 0
    waits: collections.Counter[str] = collections.Counter()
    until = time.monotonic() + seconds
    try:
        while time.monotonic() < until:
            for row in await conn.fetch(SAMPLE):
                in_xact += 1
                if row["wait_event_type"] == "Lock":
                    waits[row["wait_event"]] += 1
            await asyncio.sleep(SAMPLE_EVERY)
    finally:
        await conn.close()
    return in_xact, waits


async def measure(url: str, *, storm: bool, sequencer: bool) -> tuple[float, float, str]:
    """(lock wait % of transaction time, entries/s, what was waited on) for three writers."""
    ctx = multiprocessing.get_context("spawn")
    q, ready, go = ctx.Queue(), ctx.Queue(), ctx.Event()
    procs = [
        ctx.Process(target=_writer_process, args=(url, w, storm, sequencer, ready, go, q))
        for w in range(WRITERS)
    ]
    for p in procs:
        p.start()
    for _ in procs:  # imports and connections (slow on a loaded machine) outside the window
        await asyncio.to_thread(ready.get, True, 600)
    go.set()
    in_xact, waits = await _sample(asyncpg_dsn(url), SECONDS)
    written = sum([await asyncio.to_thread(q.get, True, 300) for _ in procs])
    for p in procs:
        p.join(timeout=60)
    if sequencer:  # every change numbered, every count exact
        conn = await asyncpg.connect(asyncpg_dsn(url))
        try:
            await conn.fetchval("SELECT activity_number_changes()")
            pending = await conn.fetchval("SELECT count(*) FROM activity_changes WHERE seq IS NULL")
            counted = await conn.fetchval("SELECT sum(n) FROM activity_counts")
            logged = await conn.fetchval("SELECT count(*) FROM activity_log")
        finally:
            await conn.close()
        assert pending == 0 and counted == logged, (pending, counted, logged)
    share = 100 * sum(waits.values()) / max(in_xact, 1)
    detail = ", ".join(f"{k} {100 * v / max(in_xact, 1):.1f}%" for k, v in waits.most_common())
    return share, written / SECONDS, detail or "none"


async def compare() -> list[Row]:
    _, url = connection_info()
    runs: dict[str, tuple[float, float, str]] = {}
    for name, revision, storm in (
        ("before", "0010", False),
        ("after", "head", False),
        ("storm-before", "0010", True),
        ("storm-after", "head", True),
    ):
        db = await fresh_database(url, f"bench_replicas_{uuid.uuid4().hex[:8]}")
        await migrate(db, revision)
        runs[name] = await measure(db, storm=storm, sequencer=revision == "head")
        share, rate, detail = runs[name]
        print(
            f"[bench] replicas {name}: lock wait {share:.1f}% of transaction time "
            f"({detail}); {rate:,.0f} entries/s",
            file=sys.stderr,
            flush=True,
        )
    label = f"{WRITERS} writers, {BATCH}-entry batches"
    return [
        Row(
            "replicas",
            f"lock wait % of xact time, 0011 vs main ({label})",
            runs["after"][0],
            runs["before"][0],
            "%",
            Goal("<=", 5, on="value"),
        ),
        Row("replicas", "  entries/s, 0011 vs main", runs["after"][1], runs["before"][1], "ev/s"),
        Row(
            "replicas",
            "lock wait %, failure storm (one group), 0011 vs main",
            runs["storm-after"][0],
            runs["storm-before"][0],
            "%",
        ),
        Row(
            "replicas",
            "  entries/s, failure storm, 0011 vs main",
            runs["storm-after"][1],
            runs["storm-before"][1],
            "ev/s",
        ),
    ]


def run() -> list[Row]:
    return asyncio.run(compare())


if __name__ == "__main__":
    for row in run():
        print(row)
