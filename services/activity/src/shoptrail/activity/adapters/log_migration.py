"""Moving today's one-table log into the partitioned one while the service keeps writing.

Migration 0012 builds `activity_log_next` (partitioned) and mirrors every write
on the live `activity_log` into it. `copy_log` copies the rows that were there
before, in batches by id; `swap_log` checks both tables hold the same rows and
renames the new one into place in one short transaction. Migration 0012 runs
both at once on a small log; `shoptrail-activity migrate-log` on a big one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

INLINE_COPY_LIMIT = 50_000
"""Logs up to this many rows are copied inside migration 0012 (a few seconds)."""

IS_PARTITIONED = "SELECT relkind = 'p' FROM pg_class WHERE oid = to_regclass('activity_log')"
PENDING = "SELECT to_regclass('activity_log_next') IS NOT NULL"
ROWS_UP_TO = "SELECT count(*) FROM (SELECT 1 FROM activity_log LIMIT :n) x"

COPY_BATCH = """
WITH batch AS (
    SELECT * FROM activity_log WHERE id > :after ORDER BY id LIMIT :n FOR SHARE
), copied AS (
    INSERT INTO activity_log_next OVERRIDING SYSTEM VALUE
    SELECT * FROM batch b
    WHERE NOT EXISTS (SELECT 1 FROM activity_log_next_event_ids e WHERE e.event_id = b.event_id)
    RETURNING 1
)
SELECT (SELECT max(id) FROM batch) AS last, (SELECT count(*) FROM copied) AS copied
"""
"""The next `n` rows after id `after`, unless already there (mirrored as they were written).

FOR SHARE: a row being updated or deleted right now is copied as it is once that
commits (or not at all), so the mirror of the change never misses the copy.
Rows committed after this statement's snapshot are not seen here: the mirror
trigger wrote them. Returns the last id read (NULL: nothing left) and how many
rows were copied.
"""

SAME_ROWS = """
SELECT (SELECT count(*) FROM activity_log) AS old,
       (SELECT count(*) FROM activity_log_next) AS new
"""

PENDING_NOTICE = (
    "activity_log holds {rows:,}+ rows: the partitioned log (activity_log_next) is built and "
    "mirrors every write; copy the rest and swap with `shoptrail-activity migrate-log`."
)

SWAP = """
DO $$
DECLARE
    r record;
    old_seq text := pg_get_serial_sequence('activity_log', 'id');
    new_seq text := pg_get_serial_sequence('activity_log_next', 'id');
    last bigint;
    called boolean;
BEGIN
    DROP TRIGGER activity_log_mirror_ins ON activity_log;
    DROP TRIGGER activity_log_mirror_upd ON activity_log;
    DROP TRIGGER activity_log_mirror_del ON activity_log;
    DROP FUNCTION activity_log_mirror();
    DROP TRIGGER IF EXISTS activity_counts_ins ON activity_log;
    DROP TRIGGER IF EXISTS activity_counts_upd ON activity_log;
    DROP TRIGGER IF EXISTS activity_counts_del ON activity_log;
    DROP TRIGGER IF EXISTS activity_groups_upd ON activity_log;
    DROP TRIGGER IF EXISTS activity_groups_del ON activity_log;
    -- New ids go on from where the old table's left off.
    EXECUTE format('SELECT last_value, is_called FROM %s', old_seq) INTO last, called;
    PERFORM setval(new_seq, last, called);

    FOR r IN SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
             WHERE i.indrelid = 'activity_log'::regclass LOOP
        EXECUTE format('ALTER INDEX %I RENAME TO %I', r.relname,
                       left(replace(r.relname, 'activity_log', 'activity_log_unpartitioned'), 63));
    END LOOP;
    ALTER TABLE activity_log RENAME TO activity_log_unpartitioned;
    EXECUTE format('ALTER SEQUENCE %s RENAME TO activity_log_unpartitioned_id_seq', old_seq);

    ALTER TABLE activity_log_next RENAME TO activity_log;
    EXECUTE format('ALTER SEQUENCE %s RENAME TO activity_log_id_seq', new_seq);
    ALTER TABLE activity_log_next_event_ids RENAME TO activity_log_event_ids;
    ALTER INDEX activity_log_next_event_ids_pkey RENAME TO activity_log_event_ids_pkey;
    FOR r IN SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
             WHERE i.indrelid = 'activity_log'::regclass
             UNION ALL
             SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
             WHERE i.inhparent = 'activity_log'::regclass LOOP
        EXECUTE format('ALTER TABLE %I RENAME TO %I', r.relname,
                       replace(r.relname, 'activity_log_next', 'activity_log'));
    END LOOP;
    PERFORM activity_counts_attach('activity_log');
    PERFORM activity_groups_attach('activity_log');
END
$$
"""
"""The new table takes the live one's place, name for name; the old one stays beside it
as activity_log_unpartitioned (dropped here when `drop_old`). Same rows, same ids:
counts, groups and connected browsers need nothing."""


def swap_statements(*, drop_old: bool) -> list[str]:
    """The swap, to run in one transaction with the live table locked (or already held)."""
    return [
        "LOCK TABLE activity_log IN ACCESS EXCLUSIVE MODE",
        SWAP,
        *(["DROP TABLE activity_log_unpartitioned"] if drop_old else []),
    ]


@dataclass
class CopyProgress:
    """How far `copy_log` has got; `total` is the old table's row count at the start."""

    total: int = 0
    read: int = 0
    copied: int = 0
    last_id: int = 0


class NotReadyError(RuntimeError):
    """The tables do not agree, or there is nothing to migrate."""


async def copy_log(
    engine: AsyncEngine,
    *,
    batch_size: int = 10_000,
    progress: Callable[[CopyProgress], None] = lambda _: None,
) -> CopyProgress:
    """Copy the old table's rows into `activity_log_next`, one short transaction per batch."""
    state = CopyProgress()
    async with engine.connect() as conn:
        if not await conn.scalar(text(PENDING)):
            raise NotReadyError("nothing to migrate: activity_log_next does not exist")
        state.total = int(await conn.scalar(text("SELECT count(*) FROM activity_log")) or 0)
        await conn.commit()
        progress(state)
        while True:
            try:
                row = (
                    await conn.execute(text(COPY_BATCH), {"after": state.last_id, "n": batch_size})
                ).one()
                await conn.commit()
            except DBAPIError as exc:
                # Rows are locked in id order here, in any order by a writer (a bulk
                # resolve): PostgreSQL breaks the rare deadlock; the batch goes again.
                await conn.rollback()
                if "deadlock detected" not in str(exc):
                    raise
                continue
            if row.last is None:
                return state
            state.last_id = row.last
            state.read += batch_size
            state.copied += row.copied
            progress(state)


async def swap_log(engine: AsyncEngine, *, drop_old: bool = False, lock_timeout_s: int = 10) -> int:
    """Check the copy is complete, then swap; returns the row count. Writers wait meanwhile."""
    async with engine.begin() as conn:
        await conn.execute(text(f"SET LOCAL lock_timeout = '{int(lock_timeout_s)}s'"))
        # Writers wait from here (readers go on) until the swap commits.
        await conn.execute(text("LOCK TABLE activity_log IN SHARE MODE"))
        counts = (await conn.execute(text(SAME_ROWS))).one()
        if counts.old != counts.new:
            raise NotReadyError(
                f"activity_log has {counts.old:,} rows but activity_log_next {counts.new:,}: "
                "run the copy again (it skips what is there)"
            )
        for statement in swap_statements(drop_old=drop_old):
            await conn.execute(text(statement))
        return int(counts.old)
