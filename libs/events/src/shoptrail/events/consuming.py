"""Consuming events at least once, with unreadable messages moved aside.

Every Shoptrail consumer follows the same rules, so they live here once:
offsets are committed only after the handler returned (FastStream's
`NACK_ON_ERROR`: a handler that raises makes the message come again, nothing is
lost); a message that cannot be parsed goes to the source topic's dead-letter
topic with its original headers and coordinates, and the partition keeps
flowing.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Collection
from typing import Any, Protocol

from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage

from shoptrail.events.base import EventData
from shoptrail.events.codec import MalformedEventError, decode
from shoptrail.events.envelope import Event
from shoptrail.events.topics import dead_letter_topic

log = logging.getLogger(__name__)

EventHandler = Callable[[Event[EventData]], Awaitable[None]]

DLQ_TOPIC = "dlq-original-topic"
DLQ_PARTITION = "dlq-original-partition"
DLQ_OFFSET = "dlq-original-offset"
DLQ_ERROR = "dlq-error"
DLQ_GROUP = "dlq-consumer-group"


class Record(Protocol):
    """What we read of an aiokafka ConsumerRecord."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Any


async def dead_letter(broker: KafkaBroker, record: Record, error: str, *, group: str) -> None:
    """Copy an unreadable record to `<topic>.dlq`, waiting for Kafka's acknowledgement."""
    headers = {name: value.decode(errors="replace") for name, value in record.headers or ()}
    headers.update(
        {
            DLQ_TOPIC: record.topic,
            DLQ_PARTITION: str(record.partition),
            DLQ_OFFSET: str(record.offset),
            DLQ_ERROR: error[:1000],
            DLQ_GROUP: group,
        }
    )
    await broker.publish(
        record.value or b"", dead_letter_topic(record.topic), key=record.key, headers=headers
    )
    log.warning(
        "dead-lettered an unreadable message",
        extra={"topic": record.topic, "partition": record.partition, "offset": record.offset},
    )


def subscribe_events(
    broker: KafkaBroker,
    *topics: str,
    group_id: str,
    handler: EventHandler,
    types: Collection[str] | None = None,
    **options: Any,
) -> None:
    """Subscribe `handler` to the events on `topics` (only `types`, if given), at least once.

    The handler must be idempotent on `event.id`: after a crash, the messages
    since the last commit are delivered again.
    """

    async def on_message(message: KafkaMessage) -> None:
        record = message.raw_message
        assert not isinstance(record, tuple), "subscribe_events is for one message at a time"
        try:
            event = decode(record.value or b"")
        except MalformedEventError as exc:
            await dead_letter(broker, record, str(exc), group=group_id)
            return
        if types is None or event.type in types:
            await handler(event)

    broker.subscriber(
        *topics,
        group_id=group_id,
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.NACK_ON_ERROR,
        **options,
    )(on_message)
