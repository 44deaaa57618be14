"""Consumer lag, asked of the broker on a timer, not only when a batch arrives.

A consumer that is stuck (a rebalance loop, a handler waiting forever, the
process wedged) fetches no batches, so lag computed from fetched records stops
changing exactly when it matters. `ConsumerLagSampler` asks Kafka itself every
`interval` seconds: the group's committed offsets (what is really done) and
each partition's end offset. Any process can run it; it does not join the
group. With several replicas each reports the same numbers: alert on `max by`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from prometheus_client.core import GaugeMetricFamily, Metric

from shoptrail.events.kafka_access import KafkaAccess, kafka_client_options
from shoptrail.kit.sampling import PeriodicSampler

LABELS = ["group", "topic", "partition"]


def _families() -> tuple[GaugeMetricFamily, GaugeMetricFamily]:
    return (
        GaugeMetricFamily(
            "shoptrail_consumer_lag",
            "Records on a partition past the consumer group's committed offset.",
            labels=LABELS,
        ),
        GaugeMetricFamily(
            "shoptrail_consumer_committed_offset",
            "The consumer group's committed offset on a partition (it moves when work is done).",
            labels=LABELS,
        ),
    )


class ConsumerLagSampler(PeriodicSampler):
    """`shoptrail_consumer_lag` and `shoptrail_consumer_committed_offset` of one group.

    Partitions are those the group has committed on, plus every partition of
    `topics` (a partition not committed on yet lags by all it holds).
    Its Kafka clients are made on first use and made again after a failure.
    """

    def __init__(
        self,
        kafka: KafkaAccess | str,
        group: str,
        *,
        topics: Iterable[str] = (),
        interval: float | None = None,
    ) -> None:
        self.kafka = kafka
        self.group = group
        self.topics = tuple(topics)
        if interval is not None:
            self.interval = interval
        self._admin: AIOKafkaAdminClient | None = None
        self._offsets: AIOKafkaConsumer | None = None
        super().__init__()

    def empty(self) -> list[Metric]:
        return list(_families())

    async def sample(self) -> list[Metric]:
        try:
            return await self._sample()
        except BaseException:
            await self.aclose()  # a client that failed once is not trusted again
            raise

    async def _sample(self) -> list[Metric]:
        admin, offsets = await self._clients()
        committed = await admin.list_consumer_group_offsets(self.group)
        positions: dict[TopicPartition, int | None] = {
            tp: meta.offset for tp, meta in committed.items() if meta.offset >= 0
        }
        await offsets.topics()  # fresh metadata: partitions of `topics`, leaders
        for topic in self.topics:
            for partition in offsets.partitions_for_topic(topic) or ():
                positions.setdefault(TopicPartition(topic, partition), None)
        if not positions:
            return self.empty()
        ends = await offsets.end_offsets(list(positions))
        unstarted = [tp for tp, position in positions.items() if position is None]
        starts = await offsets.beginning_offsets(unstarted) if unstarted else {}
        lag, at = _families()
        for tp in sorted(positions):
            position = positions[tp]
            done = starts[tp] if position is None else position
            labels = [self.group, tp.topic, str(tp.partition)]
            lag.add_metric(labels, float(max(ends[tp] - done, 0)))
            if position is not None:
                at.add_metric(labels, float(position))
        return [lag, at]

    async def _clients(self) -> tuple[AIOKafkaAdminClient, AIOKafkaConsumer]:
        if self._admin is None or self._offsets is None:
            client_id = f"lag-{self.group}"
            admin = AIOKafkaAdminClient(**kafka_client_options(self.kafka), client_id=client_id)
            offsets = AIOKafkaConsumer(
                **kafka_client_options(self.kafka),
                client_id=client_id,
                group_id=None,  # reads offsets only: never joins or commits for the group
                enable_auto_commit=False,
            )
            self._admin, self._offsets = admin, offsets
            await admin.start()
            await offsets.start()
        return self._admin, self._offsets

    async def aclose(self) -> None:
        admin, offsets = self._admin, self._offsets
        self._admin = self._offsets = None
        if offsets is not None:
            with contextlib.suppress(Exception):  # thrown away either way
                await offsets.stop()
        if admin is not None:
            with contextlib.suppress(Exception):
                await admin.close()
