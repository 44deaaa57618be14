"""A batch the log cannot take as a whole: what can be stored is, the rest is set aside visibly."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from shoptrail.activity.adapters.store import PostgresLogStore
from shoptrail.activity.domain.entries import LogEntry
from shoptrail.activity.service_layer.ports import DeadLetters, WriteResult
from shoptrail.activity.service_layer.record import record_resiliently
from shoptrail.events import encode, new_event
from shoptrail.events.failures import TransientError
from shoptrail.events.ingest import OrderCreated

pytestmark = pytest.mark.postgres


class Record:
    def __init__(self, value: bytes, offset: int, key: bytes | None) -> None:
        self.topic, self.partition, self.offset = "shoptrail.ingest", 0, offset
        self.value, self.key, self.timestamp = value, key, 1_767_225_600_000
        self.headers: list[tuple[str, bytes]] = []


class RecordedDeadLetters(DeadLetters):
    def __init__(self) -> None:
        self.moved: list[tuple[int, str]] = []

    async def publish(self, record: Any, error: str) -> bool:
        self.moved.append((record.offset, error))
        return False


class RefusingStore(PostgresLogStore):
    """The real store; the entries of `refused` events carry what PostgreSQL cannot store."""

    refused: frozenset[UUID] = frozenset()

    async def write(self, entries: Sequence[LogEntry]) -> WriteResult:
        for entry in entries:
            if entry.event_id in self.refused:
                entry.payload = '{"customer_email": "sam\\u0000@example.com"}'
        return await super().write(entries)


def orders(count: int) -> list[Any]:
    events = [
        new_event(OrderCreated.example().model_copy(update={"order_id": f"ord_{n}"}), source="/t")
        for n in range(count)
    ]
    return events


async def test_the_records_the_log_refuses_are_dead_lettered_and_the_others_stored(
    engine: AsyncEngine,
) -> None:
    events = orders(40)
    records = [Record(encode(e), n, f"ord_{n}".encode()) for n, e in enumerate(events)]
    store = RefusingStore(engine)
    store.refused = frozenset({events[7].id, events[31].id})
    dead = RecordedDeadLetters()

    outcome = await record_resiliently(
        records=records, store=store, dead_letters=dead, consumer="shoptrail-activity"
    )

    assert outcome.isolated and outcome.dead_lettered == 2
    assert sorted(offset for offset, _ in dead.moved) == [7, 31]
    assert all("UntranslatableCharacterError" in error for _, error in dead.moved)
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                text("SELECT event_type, order_id, message, payload FROM activity_log")
            )
        ).all()
        assert await conn.scalar(text("SELECT count(*) FROM orders")) == 38
    stored = [r for r in rows if r.event_type == "order.created"]
    dead_entries = {r.order_id: r for r in rows if r.event_type == "event.dead_lettered"}
    assert len(stored) == 38
    assert set(dead_entries) == {"ord_7", "ord_31"}  # on each order's timeline
    entry = dead_entries["ord_7"]
    assert entry.message.startswith(
        "shoptrail-activity could not process order.created event on shoptrail.ingest"
    )
    assert "could not be stored" in entry.payload["error"]
    assert "sam" not in entry.payload["error"]  # the reason, never the data


async def test_a_transient_failure_is_not_isolated_but_raised_to_be_waited_out(
    engine: AsyncEngine,
) -> None:
    class Away(PostgresLogStore):
        async def write(self, entries: Sequence[LogEntry]) -> WriteResult:
            raise TransientError("the database is restarting")

    dead = RecordedDeadLetters()
    records = [Record(encode(e), n, None) for n, e in enumerate(orders(3))]
    with pytest.raises(TransientError):
        await record_resiliently(
            records=records, store=Away(engine), dead_letters=dead, consumer="g"
        )
    assert dead.moved == []
