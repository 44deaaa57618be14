"""The transactional outbox: stage events with a state change, relay them to Kafka.

A service that changes its own state and emits an event writes both in one
database transaction (`add_to_outbox`). `OutboxRelay` then moves staged rows
to Kafka in order, deleting them only after Kafka acknowledged every one.

Guarantee: nothing is lost. A graceful stop between batches never duplicates;
a crash after Kafka's ack but before the delete commits re-sends that one
batch with the *same event ids*, which every consumer deduplicates.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import zlib
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Identity,
    LargeBinary,
    MetaData,
    Table,
    Text,
    Uuid,
    delete,
    func,
    select,
)
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from shoptrail.events.codec import encode, kafka_headers, kafka_key
from shoptrail.events.envelope import Event
from shoptrail.events.failures import Backoff, describe
from shoptrail.events.health import Health
from shoptrail.events.producer import Producer
from shoptrail.events.tracing import producer_spans

log = logging.getLogger(__name__)


def outbox_table(metadata: MetaData, name: str = "event_outbox") -> Table:
    """The outbox table, added to a service's own metadata (and so its migrations)."""
    return Table(
        name,
        metadata,
        Column("id", BigInteger, Identity(), primary_key=True),
        Column("event_id", Uuid, nullable=False, unique=True),
        Column("topic", Text, nullable=False),
        Column("key", LargeBinary),
        Column("value", LargeBinary, nullable=False),
        Column("headers", JSONB, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    )


async def add_to_outbox(
    db: AsyncSession | AsyncConnection, table: Table, event: Event[Any], *, topic: str
) -> None:
    """Stage `event` for `topic` inside the caller's transaction. Staging twice is a no-op."""
    statement = (
        insert(table)
        .values(
            event_id=event.id,
            topic=topic,
            key=kafka_key(event),
            value=encode(event),
            headers=kafka_headers(event),
        )
        .on_conflict_do_nothing(index_elements=["event_id"])
    )
    await db.execute(statement)


class OutboxRelay:
    """Moves staged events from one outbox table to Kafka, oldest first.

    Only one relay per table works at a time (a transaction-scoped advisory
    lock), so several replicas of a service can all run one safely and order
    is kept. Kafka or the database away is waited out with backoff, as long
    as it takes; `health` says so meanwhile.
    """

    def __init__(
        self,
        *,
        engine: AsyncEngine,
        producer: Producer,
        table: Table,
        batch_size: int = 500,
        idle_wait: float = 0.2,
        max_backoff: float = 5.0,
        health: Health | None = None,
    ) -> None:
        self._engine = engine
        self._producer = producer
        self._table = table
        self._batch_size = batch_size
        self._idle_wait = idle_wait
        self._backoff = Backoff(base=idle_wait, cap=max_backoff)
        self.health = health or Health(f"outbox:{table.name}")
        self._lock_key = zlib.crc32(f"shoptrail-outbox:{table.name}".encode())
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self.relayed = 0

    async def relay_batch(self) -> int:
        """Publish one batch and delete it once Kafka acknowledged all of it."""
        t = self._table
        async with self._engine.begin() as conn:
            locked = await conn.scalar(select(func.pg_try_advisory_xact_lock(self._lock_key)))
            if not locked:
                return 0
            rows = (
                await conn.execute(
                    select(t.c.id, t.c.topic, t.c.key, t.c.value, t.c.headers)
                    .order_by(t.c.id)
                    .limit(self._batch_size)
                )
            ).all()
            if not rows:
                return 0
            # Each record's span continues the trace of the work that staged it.
            with producer_spans((row.topic, row.headers) for row in rows):
                pending = [
                    await self._producer.send(
                        row.topic, row.value, key=row.key, headers=row.headers
                    )
                    for row in rows
                ]
                await asyncio.gather(*pending)
            await conn.execute(delete(t).where(t.c.id.in_([row.id for row in rows])))
        self.relayed += len(rows)
        log.debug("relayed outbox batch", extra={"outbox": t.name, "count": len(rows)})
        return len(rows)

    async def run(self) -> None:
        """Relay until `stop()`; a failure (Kafka or database away) backs off and retries."""
        failures = 0
        while not self._stopping.is_set():
            try:
                count = await self.relay_batch()
            except Exception as exc:
                failures += 1
                wait = self._backoff.delay(failures)
                self.health.failing(describe(exc))
                self.health.count("retried.transient")
                log.warning(
                    "outbox relay could not publish; events stay staged and will be retried",
                    extra={
                        "outbox": self._table.name,
                        "attempt": failures,
                        "retry_in_s": round(wait, 2),
                        "error": describe(exc),
                    },
                )
                await self._sleep(wait)
                continue
            failures = 0
            self.health.working()
            if count < self._batch_size:
                await self._sleep(self._idle_wait)

    def wake(self) -> None:
        """Tell the relay that new rows were staged, so it need not wait for its poll."""
        self._wake.set()

    def stop(self) -> None:
        """Finish the batch in flight, then return from `run()`."""
        self._stopping.set()
        self._wake.set()

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):  # wait_for can swallow a cancel (3.11)
                await self._wake.wait()
        self._wake.clear()
