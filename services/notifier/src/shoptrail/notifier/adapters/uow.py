"""The PostgreSQL unit of work: one connection, one transaction, the outbox inside it."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncTransaction

from shoptrail.events import Event
from shoptrail.events.outbox import add_to_outbox
from shoptrail.notifier.adapters.carts import PostgresCarts
from shoptrail.notifier.adapters.repositories import (
    PostgresEmails,
    PostgresOrders,
    PostgresProblems,
    PostgresShopSettings,
    PostgresSuppressions,
)
from shoptrail.notifier.adapters.tables import event_outbox
from shoptrail.notifier.service_layer.ports import UnitOfWork


class PostgresUnitOfWork(UnitOfWork):
    """Repositories and staged events share one transaction; nothing sticks without commit."""

    def __init__(self, engine: AsyncEngine, *, topic: str) -> None:
        self._engine = engine
        self._topic = topic
        self._conn: AsyncConnection | None = None
        self._transaction: AsyncTransaction | None = None

    async def _begin(self) -> None:
        self._conn = await self._engine.connect()
        self._transaction = await self._conn.begin()
        self.settings = PostgresShopSettings(self._conn)
        self.emails = PostgresEmails(self._conn)
        self.orders = PostgresOrders(self._conn)
        self.carts = PostgresCarts(self._conn)
        self.suppressions = PostgresSuppressions(self._conn)
        self.problems = PostgresProblems(self._conn)

    async def emit(self, event: Event[Any]) -> None:
        assert self._conn is not None, "emit() outside `async with uow`"
        await add_to_outbox(self._conn, event_outbox, event, topic=self._topic)

    async def commit(self) -> None:
        assert self._transaction is not None, "commit() outside `async with uow`"
        await self._transaction.commit()

    async def _end(self) -> None:
        conn, transaction = self._conn, self._transaction
        self._conn = self._transaction = None
        try:
            if transaction is not None and transaction.is_active:
                await transaction.rollback()
        finally:
            if conn is not None:
                await conn.close()  # even when the rollback failed: the database went away
