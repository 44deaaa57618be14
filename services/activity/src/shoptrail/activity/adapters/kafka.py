"""Kafka side of the activity service: the batch consumer and dead letters."""

from __future__ import annotations

from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import Consumer, KafkaMessage

from shoptrail.activity.config import Settings
from shoptrail.activity.metrics import Metrics
from shoptrail.activity.service_layer.ports import DeadLetters, LogStore
from shoptrail.activity.service_layer.record import record_batch
from shoptrail.events.consuming import dead_letter


class KafkaDeadLetters(DeadLetters):
    def __init__(self, broker: KafkaBroker, group: str) -> None:
        self._broker = broker
        self._group = group

    async def publish(self, record: Any, error: str) -> None:
        await dead_letter(self._broker, record, error, group=self._group)


async def _raw_records_only(message: Any) -> None:
    """The handler reads `raw_message`; FastStream need not JSON-decode every body too."""
    return None


def subscribe_log_consumer(
    broker: KafkaBroker, settings: Settings, *, store: LogStore, metrics: Metrics
) -> None:
    """Every event topic (by pattern) into the log, in batches, offsets after the commit."""
    dead_letters = KafkaDeadLetters(broker, settings.group_id)

    async def on_batch(message: KafkaMessage, consumer: Consumer) -> None:
        records = message.raw_message
        batch = records if isinstance(records, tuple) else (records,)
        outcome = await record_batch(records=batch, store=store, dead_letters=dead_letters)
        metrics.consumed.inc(outcome.read)
        metrics.inserted.inc(outcome.write.inserted)
        metrics.duplicates.inc(outcome.write.duplicates)
        metrics.dead_lettered.inc(outcome.dead_lettered)
        _record_lag(consumer, batch, metrics)

    broker.subscriber(
        pattern=settings.topic_pattern,
        group_id=settings.group_id,
        batch=True,
        max_records=settings.batch_max_records,
        max_partition_fetch_bytes=settings.partition_fetch_bytes,
        batch_timeout_ms=settings.batch_timeout_ms,
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.NACK_ON_ERROR,
        decoder=_raw_records_only,
    )(on_batch)


def _record_lag(consumer: AIOKafkaConsumer, batch: tuple[Any, ...], metrics: Metrics) -> None:
    last: dict[tuple[str, int], int] = {}
    for record in batch:  # offsets grow within a partition: the last one seen is the highest
        last[record.topic, record.partition] = record.offset
    for (topic, partition), offset in last.items():
        highwater = consumer.highwater(TopicPartition(topic, partition))
        if highwater is not None:
            metrics.lag.labels(topic, str(partition)).set(max(highwater - offset - 1, 0))
