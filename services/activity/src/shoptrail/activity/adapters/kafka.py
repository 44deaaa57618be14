"""Kafka side of the activity service: the batch consumer and dead letters."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import Consumer, KafkaMessage

from shoptrail.activity.config import Settings
from shoptrail.activity.metrics import Metrics
from shoptrail.activity.service_layer.ports import DeadLetters, LogStore
from shoptrail.activity.service_layer.record import record_resiliently
from shoptrail.events.consuming import dead_letter
from shoptrail.events.failures import Backoff, classify, describe
from shoptrail.events.health import Health
from shoptrail.events.producer import Producer

log = logging.getLogger(__name__)


class KafkaDeadLetters(DeadLetters):
    def __init__(self, producer: Producer, group: str) -> None:
        self._producer = producer
        self._group = group

    async def publish(self, record: Any, error: str) -> bool:
        return await dead_letter(self._producer, record, error, group=self._group)


async def _raw_records_only(message: Any) -> None:
    """The handler reads `raw_message`; FastStream need not JSON-decode every body too."""
    return None


def subscribe_log_consumer(
    broker: KafkaBroker,
    settings: Settings,
    *,
    store: LogStore,
    metrics: Metrics,
    producer: Producer,
    health: Health,
) -> None:
    """Every event topic (by pattern) into the log, in batches, offsets after the commit.

    A batch that fails for a transient reason (the database away) is rewound
    and retried after a backoff, for as long as it takes. One that fails for
    any other reason is written record by record where needed
    (`record_isolating`): what cannot be stored is dead-lettered and logged as
    an error entry, and the partition moves on.
    """
    dead_letters = KafkaDeadLetters(producer, settings.group_id)
    backoff = Backoff(cap=settings.retry_backoff_max_s)
    failures = 0
    for what in ("processed", "dead_lettered", "retried.transient", "retried.unknown"):
        health.count(what, 0)  # exported at 0 from the start: `increase()` sees the first

    async def on_batch(message: KafkaMessage, consumer: Consumer) -> None:
        nonlocal failures
        records = message.raw_message
        batch = records if isinstance(records, tuple) else (records,)
        try:
            outcome = await record_resiliently(
                records=batch, store=store, dead_letters=dead_letters, consumer=settings.group_id
            )
        except Exception as exc:
            failures += 1
            wait = backoff.delay(failures)
            health.failing(describe(exc))
            health.count(f"retried.{classify(exc).value}")
            log.warning(
                "could not store a batch; retrying it after a backoff",
                extra={
                    "records": len(batch),
                    "first": f"{batch[0].topic}:{batch[0].partition}:{batch[0].offset}",
                    "attempt": failures,
                    "retry_in_s": round(wait, 2),
                    "reason": describe(exc),
                },
            )
            await asyncio.sleep(wait)
            await message.nack()  # rewinds every partition of the batch to its first record
            return
        failures = 0
        health.working()
        metrics.consumed.inc(outcome.read)
        metrics.inserted.inc(outcome.write.inserted)
        metrics.duplicates.inc(outcome.write.duplicates)
        metrics.dead_lettered.inc(outcome.dead_lettered)
        health.count("processed", outcome.read)
        health.count("dead_lettered", outcome.dead_lettered)
        health.count("isolated_batches", int(outcome.isolated))
        _record_lag(consumer, batch, metrics)

    broker.subscriber(
        pattern=settings.topic_pattern,
        group_id=settings.group_id,
        batch=True,
        max_records=settings.batch_max_records,
        max_partition_fetch_bytes=settings.partition_fetch_bytes,
        batch_timeout_ms=settings.batch_timeout_ms,
        session_timeout_ms=settings.session_timeout_ms,
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
