"""The SQLAlchemy unit of work: one transaction for state, outbox events and jobs."""

from __future__ import annotations

from datetime import datetime
from types import TracebackType
from typing import Self

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shoptrail.events import EventData, new_event
from shoptrail.events.outbox import add_to_outbox
from shoptrail.fulfilment.adapters.job_queue import SqlJobQueue
from shoptrail.fulfilment.adapters.orders import SqlOrderRepository, SqlProductRepository
from shoptrail.fulfilment.adapters.problems import SqlProblemRepository
from shoptrail.fulfilment.adapters.tables import outbox
from shoptrail.fulfilment.service_layer.ports import UnitOfWork

SOURCE = "/services/fulfilment"


class SqlUnitOfWork(UnitOfWork):
    """Each `async with` opens a session and a transaction; `commit()` ends it."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], *, topic: str) -> None:
        self._sessions = sessions
        self._topic = topic
        self._session: AsyncSession | None = None

    async def __aenter__(self) -> Self:
        if self._session is not None:
            raise RuntimeError("this unit of work is already open; nest nothing")
        self._session = self._sessions()
        await self._session.begin()
        self.orders = SqlOrderRepository(self._session)
        self.products = SqlProductRepository(self._session)
        self.problems = SqlProblemRepository(self._session)
        self.jobs = SqlJobQueue(self._session)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        session, self._session = self._session, None
        assert session is not None
        try:
            await session.rollback()  # a no-op after commit()
        finally:
            await session.close()

    async def commit(self) -> None:
        await self._current.commit()

    async def emit(
        self,
        data: EventData,
        *,
        time: datetime | None = None,
        correlation_id: str | None = None,
    ) -> None:
        event = new_event(data, source=SOURCE, time=time, correlationid=correlation_id)
        await add_to_outbox(self._current, outbox, event, topic=self._topic)

    @property
    def _current(self) -> AsyncSession:
        if self._session is None:
            raise RuntimeError("use the unit of work inside `async with`")
        return self._session
