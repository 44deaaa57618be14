"""Reading the orders list: keyset pages, status and date filters, counts per status."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, func, literal, or_, select, true, tuple_
from sqlalchemy.ext.asyncio import AsyncEngine

from shoptrail.activity.adapters.search import escape_like
from shoptrail.activity.adapters.tables import orders
from shoptrail.activity.domain.order_list import (
    ORDERS_PAGE_SIZE,
    Direction,
    OrderCursor,
    OrderFilter,
    OrdersPage,
)

o = orders


def _scope(f: OrderFilter) -> ColumnElement[bool]:
    """Everything in the filter but the statuses (the counts are per status)."""
    clauses: list[ColumnElement[bool]] = []
    if f.since is not None:
        clauses.append(o.c.created_at >= f.since)
    if f.until is not None:
        clauses.append(o.c.created_at < f.until)
    if f.search:
        like = f"{escape_like(f.search)}%"
        clauses.append(
            o.c.order_number.ilike(like, escape="\\")
            | o.c.customer_email.ilike(like, escape="\\")
            | (o.c.order_id == f.search)
        )
    return and_(true(), *clauses)


def _after(cursor: OrderCursor, direction: Direction) -> ColumnElement[bool]:
    """Orders past `cursor` in the list's order (placed DESC NULLS LAST, id DESC)."""
    at, ident = o.c.created_at, o.c.order_id
    if cursor.placed_at is None:  # among the unplaced, which come last
        if direction == "older":
            return and_(at.is_(None), ident < cursor.order_id)
        return or_(at.is_not(None), ident > cursor.order_id)
    key = tuple_(at, ident)
    bound = tuple_(literal(cursor.placed_at), literal(cursor.order_id))
    # Older: the unplaced orders follow too; `page` reads them after these, only when
    # the page needs them, so this stays an index range (an OR would make it a filter).
    return key < bound if direction == "older" else key > bound


def _cursor(row: Any) -> OrderCursor:
    return OrderCursor(row.created_at, row.order_id)


@dataclass
class OrderList:
    """The orders list, read from the order read model."""

    engine: AsyncEngine

    async def page(
        self,
        f: OrderFilter,
        *,
        cursor: OrderCursor | None = None,
        direction: Direction = "older",
        limit: int = ORDERS_PAGE_SIZE,
    ) -> OrdersPage:
        stmt = select(o).where(_scope(f))
        if f.statuses:
            stmt = stmt.where(o.c.status.in_(f.statuses))
        if cursor is not None:
            stmt = stmt.where(_after(cursor, direction))
        if direction == "older":
            stmt = stmt.order_by(o.c.created_at.desc().nulls_last(), o.c.order_id.desc())
        else:
            stmt = stmt.order_by(o.c.created_at.asc().nulls_first(), o.c.order_id.asc())
        counted = select(o.c.status, func.count()).where(_scope(f)).group_by(o.c.status)
        async with self.engine.connect() as conn:
            rows = list((await conn.execute(stmt.limit(limit + 1))).all())
            if direction == "older" and cursor and cursor.placed_at and len(rows) <= limit:
                unplaced = select(o).where(_scope(f), o.c.created_at.is_(None))
                if f.statuses:
                    unplaced = unplaced.where(o.c.status.in_(f.statuses))
                unplaced = unplaced.order_by(o.c.order_id.desc()).limit(limit + 1 - len(rows))
                rows += (await conn.execute(unplaced)).all()
            counts = {status: int(n) for status, n in (await conn.execute(counted)).all()}
        more = len(rows) > limit
        rows = rows[:limit]
        if direction == "newer":
            rows.reverse()
        first = _cursor(rows[0]) if rows else None
        last = _cursor(rows[-1]) if rows else None
        if direction == "older":
            older, newer = (last if more else None), (first if cursor is not None else None)
        else:
            older, newer = last, (first if more else None)
        total = sum(n for s, n in counts.items() if not f.statuses or s in f.statuses)
        return OrdersPage([dict(r._mapping) for r in rows], older, newer, total, counts)
