"""PostgreSQL repositories: settings, outgoing emails, orders, suppressions."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import delete, exists, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from shoptrail.notifier.adapters.tables import customer_orders, emails, shop_settings, suppressions
from shoptrail.notifier.domain.model import (
    CustomerOrder,
    EmailKind,
    EmailStatus,
    OutgoingEmail,
    ShopSettings,
)
from shoptrail.notifier.service_layer import ports


class PostgresShopSettings(ports.ShopSettingsRepository):
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def get(self) -> ShopSettings:
        row = (await self._conn.execute(select(shop_settings))).first()
        if row is None:
            return ShopSettings()
        return ShopSettings(row.sender_name, row.sender_address, row.recovery_enabled)

    async def save(self, settings: ShopSettings, *, now: datetime) -> None:
        values = {
            "sender_name": settings.sender_name,
            "sender_address": settings.sender_address,
            "recovery_enabled": settings.recovery_enabled,
            "updated_at": now,
        }
        statement = insert(shop_settings).values(id=1, **values)
        await self._conn.execute(
            statement.on_conflict_do_update(index_elements=["id"], set_=values)
        )


def _email(row: Any) -> OutgoingEmail:
    return OutgoingEmail(
        id=row.id,
        kind=EmailKind(row.kind),
        context=dict(row.context),
        recipient=row.recipient,
        order_id=row.order_id,
        cart_id=row.cart_id,
        status=EmailStatus(row.status),
        attempts=row.attempts,
    )


class PostgresEmails(ports.EmailRepository):
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, email: OutgoingEmail, *, now: datetime) -> EmailStatus:
        statement = (
            insert(emails)
            .values(
                id=email.id,
                kind=email.kind.value,
                recipient=email.recipient,
                order_id=email.order_id,
                cart_id=email.cart_id,
                context=email.context,
                status=email.status.value,
                created_at=now,
            )
            .on_conflict_do_nothing(index_elements=["id"])
        )
        await self._conn.execute(statement)
        stored = await self._conn.scalar(select(emails.c.status).where(emails.c.id == email.id))
        return EmailStatus(str(stored))

    async def claim(self, email_id: UUID, *, now: datetime) -> OutgoingEmail | None:
        statement = (
            update(emails)
            .where(emails.c.id == email_id, emails.c.status == EmailStatus.PENDING.value)
            .values(
                status=EmailStatus.SENDING.value, attempts=emails.c.attempts + 1, claimed_at=now
            )
            .returning(*emails.c)
        )
        row = (await self._conn.execute(statement)).first()
        return _email(row) if row else None

    async def finish(
        self, email_id: UUID, status: EmailStatus, *, now: datetime, error: str | None = None
    ) -> OutgoingEmail | None:
        open_statuses = (EmailStatus.PENDING.value, EmailStatus.SENDING.value)
        statement = (
            update(emails)
            .where(emails.c.id == email_id, emails.c.status.in_(open_statuses))
            .values(status=status.value, finished_at=now, last_error=error)
            .returning(*emails.c)
        )
        row = (await self._conn.execute(statement)).first()
        return _email(row) if row else None

    async def stuck(self, *, claimed_before: datetime) -> list[OutgoingEmail]:
        statement = select(emails).where(
            emails.c.status == EmailStatus.SENDING.value, emails.c.claimed_at < claimed_before
        )
        return [_email(row) for row in await self._conn.execute(statement)]

    async def pending(self, *, created_before: datetime) -> list[UUID]:
        statement = select(emails.c.id).where(
            emails.c.status == EmailStatus.PENDING.value, emails.c.created_at < created_before
        )
        return list((await self._conn.scalars(statement)).all())

    async def prune(self, *, kind: str, created_before: datetime) -> int:
        statement = delete(emails).where(
            emails.c.kind == kind, emails.c.created_at < created_before
        )
        return (await self._conn.execute(statement)).rowcount


class PostgresOrders(ports.OrderRepository):
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, order: CustomerOrder) -> None:
        statement = insert(customer_orders).values(
            order_id=order.order_id,
            order_number=order.order_number,
            email=order.email,
            placed_at=order.placed_at,
        )
        await self._conn.execute(statement.on_conflict_do_nothing(index_elements=["order_id"]))

    async def get(self, order_id: str) -> CustomerOrder | None:
        statement = select(customer_orders).where(customer_orders.c.order_id == order_id)
        row = (await self._conn.execute(statement)).first()
        if row is None:
            return None
        return CustomerOrder(row.order_id, row.order_number, row.email, row.placed_at)

    async def paid_since(self, email: str, since: datetime) -> bool:
        statement = select(
            exists().where(customer_orders.c.email == email, customer_orders.c.placed_at >= since)
        )
        return bool(await self._conn.scalar(statement))


class PostgresSuppressions(ports.SuppressionRepository):
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, email: str, reason: str, *, now: datetime) -> bool:
        statement = (
            insert(suppressions)
            .values(email=email, reason=reason, created_at=now)
            .on_conflict_do_nothing(index_elements=["email"])
        )
        return (await self._conn.execute(statement)).rowcount == 1

    async def contains(self, email: str) -> bool:
        statement = select(func.count()).where(suppressions.c.email == email)
        return bool(await self._conn.scalar(statement))
