"""Resolving entries: one, one order's, or everything matching a filter. Idempotent."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from shoptrail.activity.adapters.order_numbers import name_orders
from shoptrail.activity.adapters.queries import NEEDS_ATTENTION, entry_dict, filter_clause
from shoptrail.activity.adapters.store import nothing, record_change
from shoptrail.activity.adapters.tables import activity_log
from shoptrail.activity.domain.feed import ATTENTION_LEVELS, FeedFilter, Tab

t = activity_log
Resolution = Literal["resolved", "dismissed"]


class NotResolvableError(ValueError):
    """Only warnings and errors can be resolved or dismissed."""


@dataclass
class Resolutions:
    engine: AsyncEngine
    after_commit: Callable[[], None] = nothing
    """Wakes this replica's hub to number the change (see `store.record_change`)."""

    async def resolve_entry(
        self, entry_id: int, *, note: str | None, kind: Resolution = "resolved"
    ) -> dict[str, Any] | None:
        """Resolve (or dismiss) one entry; already resolved is fine. None if no such entry."""
        async with self.engine.begin() as conn:
            row = (
                await conn.execute(select(t).where(t.c.id == entry_id).with_for_update())
            ).first()
            if row is None:
                return None
            if row.level not in ATTENTION_LEVELS:
                raise NotResolvableError(f"entry {entry_id} is {row.level}; nothing to resolve")
            if row.resolved_at is None:
                row = (
                    await conn.execute(
                        update(t)
                        .where(t.c.id == entry_id)
                        .values(resolved_at=func.now(), resolution=kind, resolution_note=note)
                        .returning(*t.c)
                    )
                ).one()
                await record_change(conn, [entry_id])
            found = entry_dict(row)
            await name_orders(conn, [found])
        self.after_commit()
        return found

    async def resolve_matching(self, f: FeedFilter, *, note: str | None) -> list[int]:
        """Resolve every open warning/error matching `f` (no cap). Returns the ids changed."""
        attention = FeedFilter(
            tab=Tab.ATTENTION,
            categories=f.categories,
            levels=f.levels,
            search=f.search,
            order_id=f.order_id,
            since=f.since,
            until=f.until,
        )
        stmt = (
            update(t)
            .where(filter_clause(attention), NEEDS_ATTENTION)
            .values(resolved_at=func.now(), resolution="resolved", resolution_note=note)
            .returning(t.c.id)
        )
        async with self.engine.begin() as conn:
            ids = list((await conn.scalars(stmt)).all())
            if ids:
                await record_change(conn, ids)
        self.after_commit()
        return ids
