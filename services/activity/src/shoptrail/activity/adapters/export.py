"""Reading everything a feed filter selects, in bounded batches, for an export of any size.

Keyset batches (newest first, from the last row of the batch before), each on
a connection held only while it is read: memory stays one batch whatever the
size of the log, and a long download holds no transaction open against the
log's writers and pruning.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import literal, select, tuple_
from sqlalchemy.ext.asyncio import AsyncEngine

from shoptrail.activity.adapters.order_numbers import name_orders
from shoptrail.activity.adapters.queries import filter_clause
from shoptrail.activity.adapters.tables import activity_log
from shoptrail.activity.domain.feed import FeedFilter

t = activity_log
EXPORT_BATCH = 2_000
EXPORT_COLUMNS = (
    t.c.id, t.c.occurred_at, t.c.level, t.c.event_type, t.c.category,
    t.c.order_id, t.c.message, t.c.resolved_at, t.c.resolution,
)  # fmt: skip


@dataclass
class FeedExport:
    engine: AsyncEngine
    batch: int = EXPORT_BATCH

    async def batches(self, f: FeedFilter) -> AsyncIterator[list[dict[str, Any]]]:
        """Every matching entry, newest first, `batch` at a time, each with its order number."""
        where = filter_clause(f)
        last: tuple[Any, int] | None = None
        while True:
            stmt = select(*EXPORT_COLUMNS).where(where)
            if last is not None:
                key = tuple_(t.c.occurred_at, t.c.id)
                stmt = stmt.where(key < tuple_(literal(last[0]), literal(last[1])))
            stmt = stmt.order_by(t.c.occurred_at.desc(), t.c.id.desc()).limit(self.batch)
            async with self.engine.connect() as conn:
                rows = [dict(r._mapping) for r in (await conn.execute(stmt)).all()]
                await name_orders(conn, rows)
            if not rows:
                return
            yield rows
            if len(rows) < self.batch:
                return
            last = (rows[-1]["occurred_at"], rows[-1]["id"])
