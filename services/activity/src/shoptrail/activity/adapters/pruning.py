"""Retention: old months go whole, unresolved warnings and errors stay until resolved.

The log is partitioned by month of `inserted_at` (migration 0012). A month older
than the retention window is retired in one short transaction: its rows leave
the counts (through the counting triggers, see `retire_month`), the partition
is detached, and its unresolved warnings and errors are moved into the DEFAULT
partition, where the feed, the needs-attention tab, the counts and the groups
still see them (same ids, same times). Once detached, the month's event ids
are released in batches and the table dropped: no row-by-row DELETE on the log.
Rows in the DEFAULT partition (those kept, and odd timestamps) are deleted by
age, in batches, once resolved, as the whole log used to be.
"""

from __future__ import annotations

import zlib
from datetime import datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shoptrail.activity.adapters.partitions import (
    DEFAULT_SUFFIX,
    MONTHS_AHEAD,
    ensure_partitions,
    is_partitioned,
    month_partitions,
    month_start,
)
from shoptrail.activity.adapters.queries import NUMBER_CHANGES

PRUNE_LOCK = zlib.crc32(b"shoptrail-activity-prune")
LOG = "activity_log"

CHANGES_KEPT = timedelta(days=1)
"""A browser away longer than this reloads instead of catching up."""
# The newest change always stays: its number is where the log stands, even when quiet for
# longer than CHANGES_KEPT (a page rendered then must not look older than the log).
PRUNE_CHANGES = """
DELETE FROM activity_changes
WHERE created_at < :cutoff AND seq < (SELECT max(seq) FROM activity_changes)
"""

KEPT = "(resolved_at IS NULL AND (level IN ('warning', 'error') OR fingerprint IS NOT NULL))"
"""What retention never removes: what still needs attention (and any entry a group
still counts as open, so groups need no adjustment)."""

PRUNE_BATCH = f"""
DELETE FROM activity_log
WHERE id IN (
    SELECT id FROM activity_log
    WHERE inserted_at < :cutoff AND NOT {KEPT}
    LIMIT :batch
)
"""
"""Row by row: the whole log before migration 0012's swap; after it, the DEFAULT
partition only (`cutoff` is never later than the oldest month's start)."""

RELEASE_IDS = f"""
WITH batch AS (
    SELECT id, event_id FROM {{month}} WHERE id > :after AND NOT {KEPT} ORDER BY id LIMIT :n
), released AS (
    DELETE FROM activity_log_event_ids e USING batch
    WHERE e.event_id = batch.event_id AND e.log_id = batch.id
)
SELECT max(id) FROM batch
"""

LOCK_TIMEOUT = "5s"
"""How long retiring a month waits for its locks before it tries again (never queues
readers behind it for longer)."""
ATTEMPTS = 5


async def prune(
    engine: AsyncEngine, *, retention: timedelta, now: datetime, batch: int = 5000
) -> int:
    """Remove entries older than `retention` (by `inserted_at`); returns how many.

    Makes the coming months' partitions too. Only one replica prunes at a time
    (an advisory lock); the others return 0.
    """
    cutoff = now - retention
    async with engine.connect() as conn:
        locked = await conn.scalar(text("SELECT pg_try_advisory_lock(:k)"), {"k": PRUNE_LOCK})
        await conn.commit()
        if not locked:
            return 0
        try:
            deleted = 0
            if await is_partitioned(conn, LOG):
                await ensure_partitions(conn, LOG, since=now, months_ahead=MONTHS_AHEAD)
                await conn.commit()
                for name, _ in await month_partitions(conn, LOG, attached=False):
                    await _drop_detached(conn, name, batch)  # an earlier run stopped half way
                for name, start in await month_partitions(conn, LOG):
                    if month_start(start, 1) <= cutoff:
                        deleted += await retire_month(conn, name)
                        await _drop_detached(conn, name, batch)
                oldest = [start for _, start in await month_partitions(conn, LOG)]
                cutoff = min([cutoff, *oldest[:1]])
            deleted += await _delete_in_batches(conn, cutoff, batch)
            # Numbered first (only numbered changes are pruned): the newest kept is then
            # the newest committed.
            await conn.execute(text(NUMBER_CHANGES))
            await conn.commit()
            await conn.execute(text(PRUNE_CHANGES), {"cutoff": now - CHANGES_KEPT})
            await conn.commit()
            return deleted
        finally:
            await conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": PRUNE_LOCK})
            await conn.commit()


async def _delete_in_batches(conn: AsyncConnection, cutoff: datetime, batch: int) -> int:
    deleted = 0
    while True:  # small transactions: never one long lock over the whole log
        result = await conn.execute(text(PRUNE_BATCH), {"cutoff": cutoff, "batch": batch})
        await conn.commit()
        deleted += result.rowcount
        if result.rowcount < batch:
            return deleted


async def retire_month(conn: AsyncConnection, month: str) -> int:
    """Detach one month, keeping what needs attention; returns how many entries left the log.

    One transaction. Writers wait for it (SHARE ROW EXCLUSIVE on the log), readers
    only for the detach itself. The rows leaving the log are counted out through
    the counting triggers (`activity_counts_attach` on a temporary table of their
    category, level and state, then one DELETE from it), so however the counts
    are kept, they stay exact; groups count open entries only, which all stay.
    """
    await conn.commit()  # whatever was read before is not part of this transaction
    for attempt in range(ATTEMPTS):
        try:
            async with conn.begin():
                return await _retire(conn, month)
        except Exception as exc:  # lock_timeout: readers were slow to let go; try again
            if "lock timeout" not in str(exc) or attempt == ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


async def _retire(conn: AsyncConnection, month: str) -> int:
    await conn.execute(text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"))
    await conn.execute(text(f"LOCK TABLE {LOG} IN SHARE ROW EXCLUSIVE MODE"))
    await conn.execute(
        text(
            "CREATE TEMPORARY TABLE activity_log_retired ON COMMIT DROP AS "
            f"SELECT category, level, resolved_at, fingerprint FROM {month} WHERE NOT {KEPT}"
        )
    )
    await conn.execute(text("SELECT activity_counts_attach('pg_temp.activity_log_retired')"))
    gone = (await conn.execute(text("DELETE FROM activity_log_retired"))).rowcount
    await conn.execute(text(f"ALTER TABLE {LOG} DETACH PARTITION {month}"))
    await conn.execute(
        text(f"INSERT INTO {LOG}{DEFAULT_SUFFIX} SELECT * FROM {month} WHERE {KEPT}")
    )
    return int(gone)


async def _drop_detached(conn: AsyncConnection, month: str, batch: int) -> None:
    """Release a detached month's event ids (kept entries keep theirs), then drop it."""
    after = 0
    while True:
        last = await conn.scalar(
            text(RELEASE_IDS.format(month=month)), {"after": after, "n": batch}
        )
        await conn.commit()
        if last is None:
            break
        after = last
    await conn.execute(text(f"DROP TABLE {month}"))
    await conn.commit()
