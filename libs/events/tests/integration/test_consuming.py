"""At-least-once consumption, retries and dead-lettering, on a real broker."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from shoptrail.events import Event, EventData, decode, encode, new_event
from shoptrail.events.consuming import (
    DLQ_ERROR,
    DLQ_GROUP,
    DLQ_OFFSET,
    DLQ_REFERENCE,
    DLQ_TOPIC,
    FailureHandling,
    RetryPolicy,
    subscribe_events,
)
from shoptrail.events.failures import Backoff, PermanentError
from shoptrail.events.fulfilment import OrderDelivered, OrderShipped
from shoptrail.events.producer import Producer
from shoptrail.events.publisher import create_broker
from shoptrail.events.system import EventDeadLettered
from shoptrail.events.topics import dead_letter_topic
from shoptrail.testing import NewTopicFactory, TopicReader, TopicSize

pytestmark = pytest.mark.kafka

FAST = RetryPolicy(max_attempts=3, backoff=Backoff(base=0.05, cap=0.2))

Handler = Callable[[Event[EventData]], Awaitable[None]]


@pytest.fixture
async def producer(kafka_bootstrap: str) -> AsyncIterator[Producer]:
    async with Producer(kafka_bootstrap, client_id="test-dead-letters") as made:
        yield made


async def publish(bootstrap: str, topic: str, *values: bytes, key: bytes | None = None) -> None:
    async with Producer(bootstrap, client_id="test-producer") as made:
        for value in values:
            await made.send_and_wait(topic, value, key=key, headers={"trace": "abc"})


async def consume_until(
    bootstrap: str,
    topic: str,
    handler: Handler,
    failures: FailureHandling,
    done: asyncio.Event,
    *,
    group: str,
) -> None:
    broker = create_broker(bootstrap, client_id="consumer")
    subscribe_events(broker, topic, group_id=group, handler=handler, failures=failures)
    async with broker:
        await broker.start()
        await asyncio.wait_for(done.wait(), 60)


def failures_for(producer: Producer, group: str, fact_topic: str) -> FailureHandling:
    return FailureHandling.for_consumer(
        producer, group=group, fact_topic=fact_topic, source="/test", policy=FAST
    )


async def test_a_poison_message_is_dead_lettered_reported_and_the_partition_keeps_flowing(
    kafka_bootstrap: str,
    new_topic: NewTopicFactory,
    read_topic: TopicReader,
    producer: Producer,
) -> None:
    topic, facts = await new_topic(partitions=1), await new_topic(partitions=1)
    before, after = (
        new_event(OrderShipped.example(), source="/t"),
        new_event(OrderDelivered.example(), source="/t"),
    )
    await publish(kafka_bootstrap, topic, encode(before))
    await publish(kafka_bootstrap, topic, b"\x00 garbage", key=b"ord_poison")
    await publish(kafka_bootstrap, topic, encode(after))

    seen: list[Event[EventData]] = []
    done = asyncio.Event()

    async def handle(event: Event[EventData]) -> None:
        seen.append(event)
        if len(seen) == 2:
            done.set()

    group = f"g-{uuid.uuid4().hex}"
    failures = failures_for(producer, group, facts)
    await consume_until(kafka_bootstrap, topic, handle, failures, done, group=group)

    assert [e.id for e in seen] == [before.id, after.id]
    (dead,) = await read_topic(dead_letter_topic(topic), 1)
    headers = {k: v.decode() for k, v in dead.headers}
    assert dead.value == b"\x00 garbage"
    assert headers[DLQ_TOPIC] == topic
    assert headers[DLQ_OFFSET] == "1"
    assert headers[DLQ_GROUP] == group
    assert "not valid JSON" in headers[DLQ_ERROR]
    assert headers["trace"] == "abc"
    (fact_record,) = await read_topic(facts, 1)
    fact = decode(fact_record.value or b"")
    assert isinstance(fact.data, EventDeadLettered)
    assert fact.subject == "ord_poison"  # on the order's timeline
    assert (fact.data.topic, fact.data.offset, fact.data.consumer) == (topic, 1, group)
    assert "not valid JSON" in fact.message
    assert failures.health.counts["dead_lettered"] == 1


async def test_a_transient_failure_is_retried_without_losing_the_message(
    kafka_bootstrap: str, new_topic: NewTopicFactory, topic_size: TopicSize, producer: Producer
) -> None:
    topic, facts = await new_topic(partitions=1), await new_topic(partitions=1)
    events = [new_event(OrderShipped.example(), source="/t") for _ in range(3)]
    await publish(kafka_bootstrap, topic, *(encode(e) for e in events))

    group = f"g-{uuid.uuid4().hex}"
    attempts: list[uuid.UUID] = []
    done = asyncio.Event()

    async def flaky(event: Event[EventData]) -> None:
        attempts.append(event.id)
        # More failures than max_attempts: a transient failure is never given up on.
        if event.id == events[1].id and attempts.count(event.id) <= FAST.max_attempts + 2:
            raise ConnectionRefusedError("database briefly unavailable")
        if event.id == events[-1].id:
            done.set()

    failures = failures_for(producer, group, facts)
    await consume_until(kafka_bootstrap, topic, flaky, failures, done, group=group)
    assert attempts == [events[0].id] + [events[1].id] * (FAST.max_attempts + 3) + [events[2].id]
    assert failures.health.counts["retried.transient"] == FAST.max_attempts + 2
    assert failures.health.failing_since is None  # recovered
    assert await topic_size(dead_letter_topic(topic)) == 0

    # Same group again: everything was committed, nothing is redelivered.
    redelivered: list[uuid.UUID] = []
    marker = new_event(OrderDelivered.example(), source="/t")
    await publish(kafka_bootstrap, topic, encode(marker))
    arrived = asyncio.Event()

    async def record(event: Event[EventData]) -> None:
        redelivered.append(event.id)
        if event.id == marker.id:
            arrived.set()

    await consume_until(kafka_bootstrap, topic, record, failures, arrived, group=group)
    assert redelivered == [marker.id]


@pytest.mark.parametrize(
    ("error", "tries"),
    [(ValueError("a bug that never goes away"), FAST.max_attempts), (PermanentError("bad"), 1)],
    ids=["unknown-after-retries", "permanent-at-once"],
)
async def test_a_handler_that_keeps_raising_is_dead_lettered_and_the_next_100_arrive(
    kafka_bootstrap: str,
    new_topic: NewTopicFactory,
    read_topic: TopicReader,
    producer: Producer,
    error: Exception,
    tries: int,
) -> None:
    topic, facts = await new_topic(partitions=1), await new_topic(partitions=1)
    poison = new_event(OrderShipped.example(), source="/t")
    behind = [new_event(OrderDelivered.example(), source="/t") for _ in range(100)]
    await publish(kafka_bootstrap, topic, encode(poison), key=b"ord_01J9Z8K4")
    await publish(kafka_bootstrap, topic, *(encode(e) for e in behind))

    calls: list[uuid.UUID] = []
    done = asyncio.Event()

    async def handle(event: Event[EventData]) -> None:
        calls.append(event.id)
        if event.id == poison.id:
            raise error
        if len(set(calls) - {poison.id}) == len(behind):
            done.set()

    group = f"g-{uuid.uuid4().hex}"
    failures = failures_for(producer, group, facts)
    await consume_until(kafka_bootstrap, topic, handle, failures, done, group=group)

    assert calls.count(poison.id) == tries
    assert [c for c in calls if c != poison.id] == [e.id for e in behind]
    (dead,) = await read_topic(dead_letter_topic(topic), 1)
    assert dead.value == encode(poison)
    assert type(error).__name__ in {k: v.decode() for k, v in dead.headers}[DLQ_ERROR]
    (fact_record,) = await read_topic(facts, 1)
    fact = decode(fact_record.value or b"")
    assert fact.subject == "ord_01J9Z8K4"
    assert fact.message.startswith(f"{group} could not process order.shipped event on {topic}")


async def test_a_record_too_large_to_copy_is_dead_lettered_by_reference(
    kafka_bootstrap: str, new_topic: NewTopicFactory, read_topic: TopicReader, producer: Producer
) -> None:
    topic, facts = await new_topic(partitions=1), await new_topic(partitions=1)
    # As large as the broker takes (message.max.bytes 1048588): the dead-letter headers
    # would push a copy past the producer's limit.
    huge = b'{"specversion":"1.0","type":"order.shipped","pad":"' + b"x" * 1_048_300 + b'"}'
    after = new_event(OrderDelivered.example(), source="/t")
    await publish(kafka_bootstrap, topic, huge, key=b"ord_big")
    await publish(kafka_bootstrap, topic, encode(after))

    seen: list[uuid.UUID] = []
    done = asyncio.Event()

    async def handle(event: Event[EventData]) -> None:
        seen.append(event.id)
        done.set()

    group = f"g-{uuid.uuid4().hex}"
    await consume_until(
        kafka_bootstrap,
        topic,
        handle,
        failures_for(producer, group, facts),
        done,
        group=group,
    )
    assert seen == [after.id]
    (dead,) = await read_topic(dead_letter_topic(topic), 1)
    headers = {k: v.decode() for k, v in dead.headers}
    assert headers[DLQ_REFERENCE] == "true" and headers[DLQ_OFFSET] == "0"
    reference = json.loads(dead.value or b"")
    assert reference["size_bytes"] == len(huge)
    assert (reference["topic"], reference["partition"], reference["offset"]) == (topic, 0, 0)
    assert reference["prefix"].startswith('{"specversion":"1.0"')
    (fact_record,) = await read_topic(facts, 1)
    fact = decode(fact_record.value or b"")
    assert isinstance(fact.data, EventDeadLettered) and fact.data.by_reference
