"""Consumer lag is asked of the broker on a timer: it moves with no consumer fetching."""

from __future__ import annotations

import uuid

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from prometheus_client import CollectorRegistry

from shoptrail.kit.lag import ConsumerLagSampler
from shoptrail.kit.sampling import sampling
from shoptrail.testing import NewTopicFactory
from shoptrail.testing.metrics import until_sampled

pytestmark = pytest.mark.kafka


async def produce(bootstrap: str, topic: str, partition: int, count: int) -> None:
    async with AIOKafkaProducer(bootstrap_servers=bootstrap) as producer:
        for n in range(count):
            await producer.send_and_wait(topic, f"record {n}".encode(), partition=partition)


async def commit(bootstrap: str, group: str, topic: str, partition: int, offset: int) -> None:
    """What a consumer in `group` does once it has handled everything before `offset`."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False
    )
    await consumer.start()
    try:
        tp = TopicPartition(topic, partition)
        consumer.assign([tp])
        await consumer.commit({tp: offset})
    finally:
        await consumer.stop()


async def test_lag_follows_the_broker_without_any_batch_arriving(
    kafka_bootstrap: str, new_topic: NewTopicFactory
) -> None:
    topic = await new_topic("lag", partitions=2)
    group = f"lag-{uuid.uuid4().hex[:8]}"
    await produce(kafka_bootstrap, topic, 0, 10)
    await produce(kafka_bootstrap, topic, 1, 3)
    await commit(kafka_bootstrap, group, topic, 0, 4)

    registry = CollectorRegistry()
    sampler = ConsumerLagSampler(kafka_bootstrap, group, topics=[topic], interval=0.2)
    registry.register(sampler)
    p0 = {"group": group, "topic": topic, "partition": "0"}
    p1 = {"group": group, "topic": topic, "partition": "1"}
    async with sampling([sampler]):
        await until_sampled(registry, "shoptrail_consumer_lag", p0, 6.0)
        await until_sampled(registry, "shoptrail_consumer_committed_offset", p0, 4.0)
        # Never committed on: it lags by all it holds, and has no committed offset.
        await until_sampled(registry, "shoptrail_consumer_lag", p1, 3.0)
        assert registry.get_sample_value("shoptrail_consumer_committed_offset", p1) is None

        # Nobody consumes: new records raise the lag by themselves...
        await produce(kafka_bootstrap, topic, 0, 5)
        await until_sampled(registry, "shoptrail_consumer_lag", p0, 11.0)
        # ...and a commit elsewhere lowers it, with no batch passing through this process.
        await commit(kafka_bootstrap, group, topic, 0, 15)
        await until_sampled(registry, "shoptrail_consumer_lag", p0, 0.0)
        await until_sampled(registry, "shoptrail_consumer_committed_offset", p0, 15.0)


async def test_an_unreachable_broker_keeps_the_families_and_does_not_raise() -> None:
    registry = CollectorRegistry()
    sampler = ConsumerLagSampler("127.0.0.1:1", "nobody", interval=0.1)
    registry.register(sampler)
    assert not await sampler.refresh()
    await sampler.aclose()
    names = {metric.name for metric in registry.collect()}
    assert {"shoptrail_consumer_lag", "shoptrail_consumer_committed_offset"} <= names
