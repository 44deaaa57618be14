"""PostgreSQL repositories: settings, outgoing emails, orders, suppressions, problems."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Boolean, delete, exists, func, literal_column, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from shoptrail.notifier.adapters.tables import (
    customer_orders,
    emails,
    operator_problems,
    shop_settings,
    suppressions,
)
from shoptrail.notifier.domain.model import (
    CustomerOrder,
    EmailKind,
    EmailStatus,
    OutgoingEmail,
    ShopSettings,
)
from shoptrail.notifier.domain.problems import OpenProblem, OperatorProblem
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

    async def hold(
        self, email_id: UUID, *, from_status: EmailStatus, now: datetime, reason: str
    ) -> OutgoingEmail | None:
        statement = (
            update(emails)
            .where(emails.c.id == email_id, emails.c.status == from_status.value)
            .values(status=EmailStatus.HELD.value, finished_at=now, last_error=reason)
            .returning(*emails.c)
        )
        row = (await self._conn.execute(statement)).first()
        return _email(row) if row else None

    async def release_held(self, *, now: datetime, limit: int | None = None) -> list[UUID]:
        oldest = (
            select(emails.c.id)
            .where(emails.c.status == EmailStatus.HELD.value)
            .order_by(emails.c.created_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        statement = (
            update(emails)
            .where(emails.c.id.in_(oldest.scalar_subquery()))
            .values(status=EmailStatus.PENDING.value, finished_at=None)
            .returning(emails.c.id)
        )
        return list((await self._conn.scalars(statement)).all())

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


class PostgresProblems(ports.ProblemRepository):
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def open(self, problem: OperatorProblem, *, now: datetime) -> bool:
        values = insert(operator_problems).values(
            problem=problem.key,
            summary=problem.summary,
            fix=problem.fix,
            detail=problem.detail,
            opened_at=now,
            last_seen_at=now,
            holding=True,
        )
        statement = values.on_conflict_do_update(
            index_elements=["problem"],
            set_={"last_seen_at": now, "holding": True, "detail": values.excluded.detail},
        ).returning(literal_column("xmax = 0", Boolean))  # inserted, not updated: new
        return bool((await self._conn.execute(statement)).scalar_one())

    async def all(self) -> list[OpenProblem]:
        rows = await self._conn.execute(select(operator_problems))
        return [
            OpenProblem(
                problem=OperatorProblem(row.problem, row.summary, row.fix, row.detail),
                opened_at=row.opened_at,
                last_seen_at=row.last_seen_at,
                holding=row.holding,
                trial_at=row.trial_at,
            )
            for row in rows
        ]

    async def allow_trial(self, *, now: datetime) -> None:
        await self._conn.execute(update(operator_problems).values(holding=False, trial_at=now))

    async def clear(self) -> list[OperatorProblem]:
        statement = delete(operator_problems).returning(
            operator_problems.c.problem,
            operator_problems.c.summary,
            operator_problems.c.fix,
            operator_problems.c.detail,
        )
        rows = await self._conn.execute(statement)
        return [OperatorProblem(row.problem, row.summary, row.fix, row.detail) for row in rows]
