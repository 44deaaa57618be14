"""A log entry: one event (or one unreadable message) as the activity log stores it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

from shoptrail.events import Event, EventData, uuid7_for
from shoptrail.events.system import EventDeadLettered
from shoptrail.events.topics import dead_letter_topic
from shoptrail.events.tracing import trace_id_of

SOURCE = "/services/activity"


@dataclass(slots=True)
class LogEntry:
    """What the log stores for one event; `event_id` makes every write idempotent.

    Entries are never changed once made. The class is not `frozen` only because a
    frozen dataclass is built attribute by attribute through `object.__setattr__`,
    which made an entry cost 2.1 µs instead of 0.8 µs: a few % of the consumer.

    `data` is the event's typed payload, which the domain reads; `payload` is the
    same as JSON, serialized once when the entry is made (in Rust, without an
    intermediate dict), so the consumer does it while the previous chunk is
    being written rather than on the write's critical path.
    """

    event_id: UUID
    event_type: str
    source: str
    category: str
    level: str
    order_id: str | None
    message: str
    data: EventData
    correlation_id: str | None
    occurred_at: datetime
    payload: str
    traceparent: str | None = None
    """The W3C trace context the event was made in, if any (see shoptrail.events.tracing)."""
    kafka_topic: str | None = None
    kafka_partition: int | None = None
    kafka_offset: int | None = None
    """Where the event was read from (None for entries not read from Kafka)."""

    @property
    def trace_id(self) -> str | None:
        """The trace the entry belongs to: one order's whole story across the services."""
        return trace_id_of(self.traceparent)


def entry_from_event(event: Event[EventData]) -> LogEntry:
    """Snapshot an event: its level, category and message are fixed when it is logged."""
    data = event.data
    return LogEntry(
        event_id=event.id,
        event_type=event.type,
        source=event.source,
        category=data.CATEGORY.value,
        level=data.LEVEL.value,
        order_id=event.subject,
        message=data.render(),
        data=data,
        correlation_id=event.correlationid,
        occurred_at=event.time,
        payload=data.model_dump_json(),
        traceparent=event.traceparent,
    )


def dead_letter_entry(
    *,
    topic: str,
    partition: int,
    offset: int,
    error: str,
    timestamp_ms: int,
    consumer: str | None = None,
    event_type: str | None = None,
    order_id: str | None = None,
    by_reference: bool = False,
) -> LogEntry:
    """The error entry for a message that could not be read (or stored) and was set aside.

    Its id is derived from the message's coordinates (and the consumer that
    gave up), so redelivery and replay record the same message once. With
    `order_id` it shows on that order's timeline.
    """
    occurred = datetime.fromtimestamp(timestamp_ms / 1000, UTC)
    data = EventDeadLettered(
        topic=topic,
        partition=partition,
        offset=offset,
        error=error,
        dead_letter_topic=dead_letter_topic(topic),
        consumer=consumer,
        order_id=order_id,
        event_type=event_type,
        by_reference=by_reference,
    )
    return LogEntry(
        event_id=uuid7_for(EventDeadLettered.id_seed(topic, partition, offset, consumer), occurred),
        event_type=data.TYPE,
        source=SOURCE,
        category=data.CATEGORY.value,
        level=data.LEVEL.value,
        order_id=order_id,
        message=data.render(),
        data=data,
        correlation_id=None,
        occurred_at=occurred,
        payload=data.model_dump_json(),
        kafka_topic=topic,
        kafka_partition=partition,
        kafka_offset=offset,
    )
