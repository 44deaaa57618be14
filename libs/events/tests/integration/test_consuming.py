"""At-least-once consumption and dead-lettering, on a real broker."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from shoptrail.events import Event, EventData, decode, encode, new_event
from shoptrail.events.consuming import DLQ_ERROR, DLQ_OFFSET, DLQ_TOPIC, subscribe_events
from shoptrail.events.fulfilment import OrderDelivered, OrderShipped
from shoptrail.events.publisher import create_broker
from shoptrail.events.topics import dead_letter_topic
from shoptrail.testing import NewTopicFactory, TopicReader

pytestmark = pytest.mark.kafka


async def test_a_poison_message_is_dead_lettered_and_the_partition_keeps_flowing(
    kafka_bootstrap: str, new_topic: NewTopicFactory, read_topic: TopicReader
) -> None:
    topic = await new_topic(partitions=1)
    before, after = (
        new_event(OrderShipped.example(), source="/t"),
        new_event(OrderDelivered.example(), source="/t"),
    )
    async with create_broker(kafka_bootstrap, client_id="producer") as producer:
        await producer.publish(encode(before), topic)
        await producer.publish(b"\x00 garbage", topic, headers={"trace": "abc"})
        await producer.publish(encode(after), topic)

    seen: list[Event[EventData]] = []
    done = asyncio.Event()

    async def handle(event: Event[EventData]) -> None:
        seen.append(event)
        if len(seen) == 2:
            done.set()

    broker = create_broker(kafka_bootstrap, client_id="consumer")
    subscribe_events(broker, topic, group_id=f"g-{uuid.uuid4().hex}", handler=handle)
    async with broker:
        await broker.start()
        await asyncio.wait_for(done.wait(), 30)

    assert [e.id for e in seen] == [before.id, after.id]
    (dead,) = await read_topic(dead_letter_topic(topic), 1)
    headers = {k: v.decode() for k, v in dead.headers}
    assert dead.value == b"\x00 garbage"
    assert headers[DLQ_TOPIC] == topic
    assert headers[DLQ_OFFSET] == "1"
    assert "not valid JSON" in headers[DLQ_ERROR]
    assert headers["trace"] == "abc"


async def test_a_failing_handler_gets_the_message_again_and_offsets_follow_success(
    kafka_bootstrap: str, new_topic: NewTopicFactory
) -> None:
    topic = await new_topic(partitions=1)
    events = [new_event(OrderShipped.example(), source="/t") for _ in range(3)]
    async with create_broker(kafka_bootstrap, client_id="producer") as producer:
        for event in events:
            await producer.publish(encode(event), topic)

    group = f"g-{uuid.uuid4().hex}"
    attempts: list[uuid.UUID] = []
    done = asyncio.Event()

    async def flaky(event: Event[EventData]) -> None:
        attempts.append(event.id)
        if attempts.count(event.id) == 1 and event.id == events[1].id:
            raise RuntimeError("database briefly unavailable")
        if event.id == events[-1].id:
            done.set()

    broker = create_broker(kafka_bootstrap, client_id="consumer")
    subscribe_events(broker, topic, group_id=group, handler=flaky)
    async with broker:
        await broker.start()
        await asyncio.wait_for(done.wait(), 30)
    assert attempts == [events[0].id, events[1].id, events[1].id, events[2].id]

    # Same group again: everything was committed, nothing is redelivered.
    redelivered: list[uuid.UUID] = []

    async def record(event: Event[EventData]) -> None:
        redelivered.append(event.id)

    async with create_broker(kafka_bootstrap, client_id="producer") as producer:
        marker = new_event(OrderDelivered.example(), source="/t")
        await producer.publish(encode(marker), topic)
    again = create_broker(kafka_bootstrap, client_id="consumer-2")
    subscribe_events(again, topic, group_id=group, handler=record)
    async with again:
        await again.start()
        async with asyncio.timeout(30):
            while marker.id not in redelivered:
                await asyncio.sleep(0.05)
    assert redelivered == [marker.id]
    assert decode(encode(marker)).id == marker.id
