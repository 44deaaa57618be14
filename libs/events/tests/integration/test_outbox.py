"""The transactional outbox: staged with the state change, relayed to Kafka once."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import Column, MetaData, Table, Text, func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from shoptrail.events import Event, decode, new_event
from shoptrail.events.fulfilment import OrderSubmissionFailed
from shoptrail.events.outbox import OutboxRelay, add_to_outbox, outbox_table
from shoptrail.events.producer import Producer
from shoptrail.testing import NewTopicFactory, TopicReader, TopicSize

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]

metadata = MetaData()
orders = Table("orders", metadata, Column("id", Text, primary_key=True), Column("status", Text))
outbox = outbox_table(metadata)


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(database_url)
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    yield engine
    await engine.dispose()


def failure(order: int, attempt: int) -> Event[OrderSubmissionFailed]:
    data = OrderSubmissionFailed(
        order_id=f"ord_{order}",
        provider="Printify",
        reason="timeout",
        attempt=attempt,
        max_attempts=1000,
    )
    return new_event(data, source="/tests")


async def stage(engine: AsyncEngine, events: list[Event[Any]], topic: str) -> None:
    """One business transaction per event: a state change and its event together."""
    for event in events:
        async with engine.begin() as conn:
            await conn.execute(insert(orders).values(id=str(event.id), status="failed"))
            await add_to_outbox(conn, outbox, event, topic=topic)


async def pending(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int(await conn.scalar(select(func.count()).select_from(outbox)) or 0)


async def wait_until_drained(engine: AsyncEngine, timeout: float = 60) -> None:
    async with asyncio.timeout(timeout):
        while await pending(engine):
            await asyncio.sleep(0.1)


async def test_relay_delivers_every_row_exactly_once_across_a_restart(
    engine: AsyncEngine,
    kafka_bootstrap: str,
    new_topic: NewTopicFactory,
    read_topic: TopicReader,
    topic_size: TopicSize,
) -> None:
    topic = await new_topic()
    first = [failure(order, attempt) for attempt in range(1, 31) for order in range(3)]
    await stage(engine, first, topic)

    # A business transaction that rolls back must never emit its event.
    ghost = failure(99, 1)
    with pytest.raises(RuntimeError):
        async with engine.begin() as conn:
            await add_to_outbox(conn, outbox, ghost, topic=topic)
            raise RuntimeError("the state change failed")

    async with Producer(kafka_bootstrap, client_id="relay-1") as producer:
        relay = OutboxRelay(engine=engine, producer=producer, table=outbox, batch_size=7)
        task = asyncio.create_task(relay.run())
        async with asyncio.timeout(30):
            while relay.relayed < 40:
                await asyncio.sleep(0.01)
        relay.stop()
        await task
    remaining = await pending(engine)
    assert 0 < remaining <= len(first) - 40, "the relay should have stopped part-way"

    second = [failure(order, attempt) for attempt in range(31, 41) for order in range(3)]
    await stage(engine, second, topic)
    async with Producer(kafka_bootstrap, client_id="relay-2") as producer:
        relay = OutboxRelay(engine=engine, producer=producer, table=outbox, batch_size=7)
        task = asyncio.create_task(relay.run())
        await wait_until_drained(engine)
        relay.stop()
        await task

    staged = first + second
    assert await topic_size(topic) == len(staged), "a row was lost or published twice"
    records = await read_topic(topic, len(staged))
    ids = [decode(r.value).id for r in records]
    assert set(ids) == {e.id for e in staged}
    assert ghost.id not in ids
    for order in range(3):
        attempts = [
            decode(r.value).data.attempt  # type: ignore[attr-defined]
            for r in sorted(records, key=lambda r: r.offset)
            if r.key == f"ord_{order}".encode()
        ]
        assert attempts == list(range(1, 41)), "one order's events came out of order"


async def test_staging_the_same_event_twice_stores_it_once(engine: AsyncEngine) -> None:
    event = failure(1, 1)
    for _ in range(2):
        async with engine.begin() as conn:
            await add_to_outbox(conn, outbox, event, topic="t")
    assert await pending(engine) == 1


async def test_events_wait_in_the_outbox_while_kafka_is_unreachable(engine: AsyncEngine) -> None:
    await stage(engine, [failure(1, 1)], "t")
    dead = Producer("127.0.0.1:1", client_id="nowhere", request_timeout_ms=1000)
    relay = OutboxRelay(engine=engine, producer=dead, table=outbox)
    with pytest.raises(Exception):  # noqa: B017, PT011 - any connection error will do
        await relay.relay_batch()
    assert await pending(engine) == 1


@pytest.mark.slow
async def test_a_relay_killed_mid_stream_loses_nothing(
    engine: AsyncEngine,
    database_url: str,
    kafka_bootstrap: str,
    new_topic: NewTopicFactory,
    read_topic: TopicReader,
    topic_size: TopicSize,
) -> None:
    topic = await new_topic()
    staged = [failure(order, attempt) for attempt in range(1, 301) for order in range(5)]
    async with engine.begin() as conn:
        for event in staged:
            await add_to_outbox(conn, outbox, event, topic=topic)
    script = Path(__file__).with_name("relay_process.py")
    batch = 50
    argv = [sys.executable, str(script), database_url, kafka_bootstrap, outbox.name, str(batch)]

    victim = subprocess.Popen(argv, stdout=subprocess.PIPE)
    try:
        async with asyncio.timeout(60):
            while await pending(engine) > len(staged) - 300:
                await asyncio.sleep(0.005)
    finally:
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait()
    assert await pending(engine) > 0, "the relay finished before it could be killed"

    survivor = subprocess.Popen(argv, stdout=subprocess.PIPE)
    try:
        await wait_until_drained(engine)
    finally:
        survivor.terminate()
        survivor.wait()

    records = await read_topic(topic, await topic_size(topic))
    ids: list[UUID] = [decode(r.value).id for r in records]
    assert set(ids) == {e.id for e in staged}, "an event was lost"
    # Only the batch in flight at the kill may be sent again, with the same ids.
    assert len(ids) - len(set(ids)) <= batch
