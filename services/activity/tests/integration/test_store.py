"""Writing chunks: the COPY fast path and its fall-back when a chunk holds a known event."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from shoptrail.activity.adapters.migrate import migrate
from shoptrail.activity.adapters.store import PostgresLogStore
from shoptrail.activity.domain.entries import LogEntry, entry_from_event
from shoptrail.activity.service_layer.ports import WriteResult
from shoptrail.events import Money, new_event
from shoptrail.events.fulfilment import OrderShipped, OrderSubmitted
from shoptrail.events.ingest import OrderCreated, OrderRefunded

pytestmark = pytest.mark.postgres


def created(n: int) -> OrderCreated:
    return OrderCreated.example().model_copy(update={"order_id": f"ord_{n}"})


async def logged(engine: AsyncEngine) -> dict[str, int]:
    async with engine.connect() as conn:
        rows = await conn.execute(text("SELECT event_id::text, id FROM activity_log"))
        return {event_id: id_ for event_id, id_ in rows.all()}


async def test_new_entries_get_the_ids_they_were_stored_under(engine: AsyncEngine) -> None:
    entries = [entry_from_event(new_event(created(n), source="/t")) for n in range(3)]
    result = await PostgresLogStore(engine).write(entries)
    stored = await logged(engine)
    assert result.duplicates == 0
    assert result.inserted_ids == [stored[str(e.event_id)] for e in entries]
    async with engine.connect() as conn:
        order = (
            (await conn.execute(text("SELECT * FROM orders WHERE order_id = 'ord_1'")))
            .one()
            ._mapping
        )
    snapshot = created(1)
    assert order["line_items"] == snapshot.model_dump(mode="json")["line_items"]
    assert order["shipping_address"]["city"] == "Bristol"
    assert (order["order_number"], order["customer_email"]) == (
        snapshot.order_number,
        snapshot.customer_email,
    )
    assert (order["total_amount"], order["currency"]) == (4300, "GBP")
    assert (order["provider"], order["status"]) == ("Printify", "paid")
    assert order["created_at"] == order["status_at"] == entries[1].occurred_at


async def test_a_chunk_with_known_events_inserts_only_the_new_ones(engine: AsyncEngine) -> None:
    store = PostgresLogStore(engine)
    first = [entry_from_event(new_event(created(n), source="/t")) for n in range(2)]
    await store.write(first)
    later = entry_from_event(
        new_event(
            OrderSubmitted(order_id="ord_9", provider="Printify", provider_order_id="P"),
            source="/t",
        )
    )
    # A redelivered event, a new one, and the new one again within the same chunk.
    result = await store.write([first[1], later, later])
    stored = await logged(engine)
    assert result.inserted_ids == [stored[str(later.event_id)]]
    assert result.duplicates == 2
    assert len(stored) == 3
    async with engine.connect() as conn:
        counted = await conn.scalar(text("SELECT sum(n) FROM activity_counts"))
    assert counted == 3  # the failed COPY left no trace in the counters


@pytest.mark.parametrize("batches", ["one batch", "one event per batch, snapshot late"])
async def test_an_orders_row_is_the_same_whatever_order_its_events_arrive_in(
    engine: AsyncEngine, batches: str
) -> None:
    def at(minutes: int) -> datetime:
        return datetime(2026, 3, 1, 9, tzinfo=UTC) + timedelta(minutes=minutes)

    order = "ord_7"
    snapshot = entry_from_event(new_event(created(7), source="/t", time=at(1)))
    later = [
        entry_from_event(new_event(data, source="/t", time=at(minutes)))
        for data, minutes in (
            (
                OrderShipped.example().model_copy(
                    update={"order_id": order, "provider": "Printful"}
                ),
                30,
            ),
            (
                OrderRefunded(
                    order_id=order, amount=Money(amount=1000, currency="GBP"), full=False
                ),
                40,
            ),
            (OrderSubmitted(order_id=order, provider="Printful", provider_order_id="PF-1"), 10),
        )
    ]
    store = PostgresLogStore(engine)
    if batches == "one batch":
        await store.write([*later, snapshot])
    else:
        for entry in [*later, snapshot]:
            await store.write([entry])
    async with engine.connect() as conn:
        row = (await conn.execute(text("SELECT * FROM orders"))).one()._mapping
    assert (row["order_id"], row["status"], row["status_at"]) == (order, "shipped", at(30))
    assert (row["order_number"], row["total_amount"], row["created_at"]) == (
        "SS-260223-0042", 4300, at(1),
    )  # fmt: skip
    assert (row["provider"], row["provider_order_id"], row["carrier"]) == (
        "Printful",
        "PF-1",
        "DHL",
    )
    assert (row["refunded_amount"], row["shipping_address"]["city"]) == (1000, "Bristol")


async def test_a_chunk_is_one_transaction_a_late_failure_leaves_nothing_behind(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shoptrail.activity.adapters import store as store_module

    async def fail(*args: object, **kwargs: object) -> int:
        raise RuntimeError("the change notice failed")

    monkeypatch.setattr(store_module, "record_change", fail)
    entries = [entry_from_event(new_event(created(n), source="/t")) for n in range(3)]
    with pytest.raises(RuntimeError):
        await PostgresLogStore(engine).write(entries)
    assert await logged(engine) == {}, "the log rows were committed without the rest"
    async with engine.connect() as conn:
        assert (await conn.scalar(text("SELECT count(*) FROM orders"))) == 0
    monkeypatch.undo()
    result = await PostgresLogStore(engine).write(entries)  # the redelivery writes it all
    assert result.inserted == 3
    async with engine.connect() as conn:
        assert (await conn.scalar(text("SELECT count(*) FROM orders"))) == 3


async def test_a_connection_whose_write_failed_goes_back_to_the_pool_clean(
    engine: AsyncEngine,
) -> None:
    class NulPayload(PostgresLogStore):
        async def write(self, entries: Sequence[LogEntry]) -> WriteResult:
            for entry in entries:
                entry.payload = '{"name": "Sam\\u0000"}'  # what PostgreSQL refuses
            return await super().write(entries)

    store = NulPayload(engine)
    for _ in range(12):  # more than the pool holds: every connection has failed once
        with pytest.raises(Exception, match="Unicode"):
            await store.write([entry_from_event(new_event(created(1), source="/t"))])
    result = await PostgresLogStore(engine).write(
        [entry_from_event(new_event(created(n), source="/t")) for n in range(20)]
    )
    assert result.inserted == 20


async def test_a_write_cancelled_at_any_point_leaves_no_connection_in_a_broken_transaction(
    engine: AsyncEngine,
) -> None:
    # The consumer's write lanes cancel each other when one fails; a connection cancelled
    # inside its transaction once went back to the pool aborted, and the feed's queries on
    # it failed with "current transaction is aborted".
    import asyncio

    store = PostgresLogStore(engine)
    for n, delay in enumerate((0, 0.001, 0.005, 0.02, 0.05, 0.1, 0.2)):
        chunk = [
            entry_from_event(new_event(created(n * 10_000 + i), source="/t")) for i in range(5000)
        ]
        write = asyncio.create_task(store.write(chunk))
        await asyncio.sleep(delay)  # a cancellation point somewhere in the write, not a wait
        write.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await write
        for _ in range(8):  # every pooled connection answers a plain query in a new transaction
            async with engine.begin() as conn:
                assert await conn.scalar(text("SELECT count(*) >= 0 FROM activity_log"))


@pytest.mark.timeout(300)
async def test_a_write_cancelled_anywhere_leaves_no_transaction_behind(database_url: str) -> None:
    """Cancel a write at each point it waits (BEGIN, COPY, the upserts, COMMIT),
    then write again on the same pooled connection: that write must commit.

    A write is cancelled when a sibling lane fails (isolation) or the consumer
    stops. asyncpg keeps a transaction whose BEGIN was interrupted as the
    connection's open transaction, so a connection handed back to the pool in
    that state made the next write a savepoint that never committed: entries
    reported stored were lost, and the open transaction's locks stalled others.
    """
    await migrate(database_url)
    one = create_async_engine(database_url, pool_size=1, max_overflow=0)
    observer = create_async_engine(database_url, pool_size=1, max_overflow=0)
    store = PostgresLogStore(one)
    n = 0
    try:
        for steps in range(10_000):
            n += 1
            write = asyncio.create_task(
                store.write([entry_from_event(new_event(created(n), source="/t"))])
            )
            for _ in range(steps):
                await asyncio.sleep(0)
            finished_first = write.done()
            write.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await write

            n += 1
            after = entry_from_event(new_event(created(n), source="/t"))
            await store.write([after])
            async with observer.connect() as conn:
                committed = await conn.scalar(
                    text("SELECT count(*) FROM activity_log WHERE event_id = :id"),
                    {"id": after.event_id},
                )
            assert committed == 1, f"a write after one cancelled at step {steps} was lost"
            if finished_first:
                break  # every point the write waits at has been cancelled once
        assert steps > 3
    finally:
        await one.dispose()
        await observer.dispose()
