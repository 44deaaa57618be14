"""PostgreSQL repository of abandoned carts."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import TypeAdapter
from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from shoptrail.events.common import LineItem
from shoptrail.events.money import Money
from shoptrail.notifier.adapters.tables import abandoned_carts as carts
from shoptrail.notifier.domain.model import AbandonedCart
from shoptrail.notifier.service_layer import ports

_ITEMS = TypeAdapter(tuple[LineItem, ...])


def _cart(row: Any) -> AbandonedCart:
    return AbandonedCart(
        id=row.id,
        checkout_session_id=row.checkout_session_id,
        email=row.email,
        total=Money.model_validate(row.total),
        line_items=_ITEMS.validate_python(row.line_items),
        abandoned_at=row.abandoned_at,
        due_at=row.due_at,
        emailed_at=row.emailed_at,
        closed_reason=row.closed_reason,
        recovered_order_id=row.recovered_order_id,
    )


class PostgresCarts(ports.CartRepository):
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, cart: AbandonedCart, *, now: datetime) -> bool:
        statement = (
            insert(carts)
            .values(
                id=cart.id,
                checkout_session_id=cart.checkout_session_id,
                email=cart.email,
                line_items=_ITEMS.dump_python(cart.line_items, mode="json"),
                total=cart.total.model_dump(mode="json"),
                abandoned_at=cart.abandoned_at,
                due_at=cart.due_at,
                created_at=now,
            )
            .on_conflict_do_nothing(index_elements=["checkout_session_id"])
        )
        return (await self._conn.execute(statement)).rowcount == 1

    async def due(self, *, now: datetime, limit: int) -> list[AbandonedCart]:
        statement = (
            select(carts)
            .where(carts.c.due_at <= now, carts.c.emailed_at.is_(None), carts.c.closed_at.is_(None))
            .order_by(carts.c.due_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return [_cart(row) for row in await self._conn.execute(statement)]

    async def mark_emailed(self, cart_id: str, *, email_id: UUID, now: datetime) -> None:
        await self._conn.execute(
            update(carts)
            .where(carts.c.id == cart_id, carts.c.emailed_at.is_(None))
            .values(emailed_at=now, email_id=email_id)
        )

    async def close(self, cart_id: str, reason: str, *, now: datetime) -> None:
        await self._conn.execute(
            update(carts).where(carts.c.id == cart_id).values(closed_at=now, closed_reason=reason)
        )

    async def emailed_unrecovered(self, email: str, *, before: datetime) -> list[AbandonedCart]:
        statement = select(carts).where(
            carts.c.email == email,
            carts.c.emailed_at.is_not(None),
            carts.c.emailed_at <= before,
            carts.c.recovered_order_id.is_(None),
        )
        return [_cart(row) for row in await self._conn.execute(statement)]

    async def mark_recovered(self, cart_id: str, order_id: str) -> None:
        await self._conn.execute(
            update(carts).where(carts.c.id == cart_id).values(recovered_order_id=order_id)
        )

    async def prune(self, *, created_before: datetime) -> int:
        statement = delete(carts).where(carts.c.created_at < created_before)
        return (await self._conn.execute(statement)).rowcount
