"""Retention: old entries go, unresolved warnings and errors stay until resolved."""

from __future__ import annotations

import zlib
from datetime import datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from shoptrail.activity.adapters.queries import NUMBER_CHANGES

PRUNE_LOCK = zlib.crc32(b"shoptrail-activity-prune")

CHANGES_KEPT = timedelta(days=1)
"""A browser away longer than this reloads instead of catching up."""
# The newest change always stays: its number is where the log stands, even when quiet for
# longer than CHANGES_KEPT (a page rendered then must not look older than the log).
PRUNE_CHANGES = """
DELETE FROM activity_changes
WHERE created_at < :cutoff AND seq < (SELECT max(seq) FROM activity_changes)
"""

PRUNE_BATCH = """
DELETE FROM activity_log
WHERE id IN (
    SELECT id FROM activity_log
    WHERE inserted_at < :cutoff
      AND NOT (level IN ('warning', 'error') AND resolved_at IS NULL)
    LIMIT :batch
)
"""


async def prune(
    engine: AsyncEngine, *, retention: timedelta, now: datetime, batch: int = 5000
) -> int:
    """Delete entries older than `retention` (by `inserted_at`) in batches; returns how many.

    Only one replica prunes at a time (an advisory lock); the others return 0.
    """
    cutoff = now - retention
    deleted = 0
    async with engine.connect() as conn:
        locked = await conn.scalar(text("SELECT pg_try_advisory_lock(:k)"), {"k": PRUNE_LOCK})
        await conn.commit()
        if not locked:
            return 0
        try:
            while True:  # small transactions: never one long lock over the whole log
                result = await conn.execute(text(PRUNE_BATCH), {"cutoff": cutoff, "batch": batch})
                await conn.commit()
                deleted += result.rowcount
                if result.rowcount < batch:
                    # Numbered first (only numbered changes are pruned): the newest kept
                    # is then the newest committed.
                    await conn.execute(text(NUMBER_CHANGES))
                    await conn.commit()
                    await conn.execute(text(PRUNE_CHANGES), {"cutoff": now - CHANGES_KEPT})
                    await conn.commit()
                    return deleted
        finally:
            await conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": PRUNE_LOCK})
            await conn.commit()
