"""The sequencer and the count deltas (migration 0011), transaction by transaction."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from shoptrail.activity.adapters.changes import ChangeLog
from shoptrail.activity.adapters.store import LogTables, raw_transaction, write_entries
from shoptrail.activity.domain.entries import LogEntry, entry_from_event
from shoptrail.events import new_event
from shoptrail.events.fulfilment import OrderShipped, OrderSubmissionFailed

pytestmark = pytest.mark.postgres


def shipped() -> LogEntry:
    """An entry of its own order: two writers never wait on one order's row."""
    data = OrderShipped.example().model_copy(update={"order_id": f"ord_{uuid.uuid4().hex}"})
    return entry_from_event(new_event(data, source="/t"))


async def test_a_change_that_commits_late_is_numbered_after_what_readers_already_saw(
    engine: AsyncEngine,
) -> None:
    """With numbers drawn at insert time, the slow writer's change would get a number
    below one a reader had already passed, and be skipped for good."""
    changes = ChangeLog(engine)
    start = await changes.number()
    async with engine.connect() as slow_conn, raw_transaction(slow_conn):
        slow = await write_entries(slow_conn, [shipped()], LogTables())  # uncommitted
        async with engine.connect() as fast_conn, raw_transaction(fast_conn):
            fast = await write_entries(fast_conn, [shipped()], LogTables())
        seen = await changes.number()
        read = await changes.since(start)
        assert [c.entry_ids for c in read] == [fast.inserted_ids]
    late = await changes.since(seen)
    assert [c.entry_ids for c in late] == [], "numbered only by a sequencer, after commit"
    assert await changes.number() > seen
    assert [c.entry_ids for c in await changes.since(seen)] == [slow.inserted_ids]


async def test_counts_are_exact_before_and_after_folding_and_one_folder_at_a_time(
    engine: AsyncEngine,
) -> None:
    failed = OrderSubmissionFailed.example()
    async with engine.connect() as conn, raw_transaction(conn):
        entries = [shipped(), shipped(), entry_from_event(new_event(failed, source="/t"))]
        await write_entries(conn, entries, LogTables())
    exact = "SELECT category, level, open, n FROM activity_counts WHERE n <> 0 ORDER BY 1, 2, 3"
    async with engine.connect() as conn:
        before = (await conn.execute(text(exact))).all()
        await conn.execute(
            text("UPDATE activity_log SET resolved_at = now() WHERE level = 'error'")
        )
        await conn.commit()
        resolved = (await conn.execute(text(exact))).all()
        # Another replica folding right now: this one skips, and nothing moves.
        await conn.execute(
            text("SELECT pg_advisory_lock(hashtext('shoptrail-activity-counts-fold'))")
        )
        assert await ChangeLog(engine).fold_counts() == 0
        await conn.execute(
            text("SELECT pg_advisory_unlock(hashtext('shoptrail-activity-counts-fold'))")
        )
        await conn.commit()
    assert await ChangeLog(engine).fold_counts() > 0
    async with engine.connect() as conn:
        folded = (await conn.execute(text(exact))).all()
        deltas = await conn.scalar(text("SELECT count(*) FROM activity_count_deltas"))
    assert [tuple(r) for r in before] == [
        ("fulfilment", "error", True, 1),
        ("fulfilment", "info", True, 2),
    ]
    assert [tuple(r) for r in resolved] == [
        ("fulfilment", "error", False, 1),
        ("fulfilment", "info", True, 2),
    ]
    assert folded == resolved and deltas == 0
