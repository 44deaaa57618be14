"""Consuming events at least once, without one message or one outage stopping the shop.

Every Shoptrail consumer follows the same rules (the failure model is in
failures.py), so they live here once:

* Offsets are committed only after the handler returned.
* A **transient** failure (the database, Kafka, SMTP or a provider away) is
  retried with capped, jittered backoff for as long as it takes: the message
  is rewound, not lost, and `Health` reports the consumer failing (readiness,
  metrics). It logs once per backoff step, never the payload.
* A **permanent** failure (an unreadable message, data the store refuses), or
  one still failing after `max_attempts`, moves the record to the source
  topic's dead-letter topic with the reason and its coordinates, publishes an
  `event.dead_lettered` fact (on the order's timeline when the record is keyed
  by an order id), commits and moves on.
* A record too large to copy is dead-lettered **by reference**: coordinates,
  size, reason and a prefix; `shoptrail-dlq` fetches the original by offset.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage

from shoptrail.events.base import EventData
from shoptrail.events.codec import decode, encode, kafka_headers, kafka_key, order_id_of_record
from shoptrail.events.envelope import Event, new_event
from shoptrail.events.failures import Backoff, FailureKind, classify, describe, is_size_error
from shoptrail.events.health import Health
from shoptrail.events.hygiene import clean_text
from shoptrail.events.ids import uuid7_for
from shoptrail.events.logcontext import bind_event_id, event_scope
from shoptrail.events.producer import Producer
from shoptrail.events.system import EventDeadLettered
from shoptrail.events.topics import dead_letter_topic

log = logging.getLogger(__name__)

EventHandler = Callable[[Event[EventData]], Awaitable[None]]

DLQ_TOPIC = "dlq-original-topic"
DLQ_PARTITION = "dlq-original-partition"
DLQ_OFFSET = "dlq-original-offset"
DLQ_ERROR = "dlq-error"
DLQ_GROUP = "dlq-consumer-group"
DLQ_REFERENCE = "dlq-reference"
"""Set to "true" when the dead letter holds a reference (see `reference_body`), not a copy."""

REFERENCE_PREFIX_BYTES = 1024
_HEADROOM_BYTES = 16 * 1024
"""Room kept under the producer's limit for the dead-letter headers and record overhead."""


class Record(Protocol):
    """What we read of an aiokafka ConsumerRecord."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Any
    timestamp: int


def reference_body(record: Record, error: str) -> bytes:
    """What stands in for a record too large to copy: where it is, how big, why, how it began."""
    value = record.value or b""
    return json.dumps(
        {
            "reference": True,
            "topic": record.topic,
            "partition": record.partition,
            "offset": record.offset,
            "size_bytes": len(value),
            "error": error,
            "prefix": clean_text(value[:REFERENCE_PREFIX_BYTES].decode(errors="replace")),
        }
    ).encode()


async def dead_letter(producer: Producer, record: Record, error: str, *, group: str) -> bool:
    """Move `record` to `<topic>.dlq`, waiting for Kafka's acknowledgement.

    A copy keeps the original key, value and headers. A record too large to
    copy with the dead-letter headers goes as a reference (`reference_body`).
    Returns True when it went by reference.
    """
    error = clean_text(error)[:1000]
    coordinates = {
        DLQ_TOPIC: record.topic,
        DLQ_PARTITION: str(record.partition),
        DLQ_OFFSET: str(record.offset),
        DLQ_ERROR: error,
        DLQ_GROUP: group,
    }
    target = dead_letter_topic(record.topic)
    value = record.value or b""
    by_reference = len(value) + len(record.key or b"") > producer.max_request_size - _HEADROOM_BYTES
    if not by_reference:
        headers = {name: value.decode(errors="replace") for name, value in record.headers or ()}
        try:
            await producer.send_and_wait(
                target, value, key=record.key, headers={**headers, **coordinates}
            )
        except Exception as exc:
            if not is_size_error(exc):
                raise
            by_reference = True
    if by_reference:
        key = record.key if record.key is not None and len(record.key) <= 1024 else None
        await producer.send_and_wait(
            target,
            reference_body(record, error),
            key=key,
            headers={**coordinates, DLQ_REFERENCE: "true"},
        )
    log.warning(
        "dead-lettered a message",
        extra={
            "topic": record.topic,
            "partition": record.partition,
            "offset": record.offset,
            "group": group,
            "by_reference": by_reference,
            "reason": error,
        },
    )
    return by_reference


def dead_letter_fact(
    record: Record,
    error: str,
    *,
    consumer: str | None,
    event_type: str | None,
    by_reference: bool,
) -> EventDeadLettered:
    """The `event.dead_lettered` fact for a record: on its order's timeline if it was about one."""
    order_id = order_id_of_record(record.key, record.headers)
    return EventDeadLettered(
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        error=error,
        dead_letter_topic=dead_letter_topic(record.topic),
        consumer=consumer,
        order_id=order_id,
        event_type=event_type,
        by_reference=by_reference,
    )


@dataclass
class DeadLetters:
    """Moves records aside for one consumer group, and tells the activity log.

    The fact goes to `fact_topic` (the consuming service's own topic) with an
    id derived from the record's coordinates, so a redelivered record that is
    dead-lettered again makes the same entry.
    """

    producer: Producer
    group: str
    fact_topic: str
    source: str

    async def move(self, record: Record, error: str, *, event_type: str | None = None) -> None:
        by_reference = await dead_letter(self.producer, record, error, group=self.group)
        fact = dead_letter_fact(
            record, error, consumer=self.group, event_type=event_type, by_reference=by_reference
        )
        occurred = datetime.fromtimestamp(record.timestamp / 1000, UTC)
        event = new_event(
            fact,
            source=self.source,
            time=occurred,
            id=uuid7_for(
                EventDeadLettered.id_seed(
                    record.topic, record.partition, record.offset, self.group
                ),
                occurred,
            ),
        )
        await self.producer.send_and_wait(
            self.fact_topic, encode(event), key=kafka_key(event), headers=kafka_headers(event)
        )


@dataclass
class RetryPolicy:
    """How long a failing message is retried before it is set aside (see failures.py)."""

    max_attempts: int = 5
    """Attempts for a failure of unknown kind; transient ones are retried without end."""
    backoff: Backoff = field(default_factory=lambda: Backoff(base=0.5, cap=10.0))
    """Capped low: an outage is noticed to be over within seconds of its end."""


class Attempts:
    """Failed attempts per record coordinates, forgotten on success (bounded)."""

    def __init__(self, limit: int = 10_000) -> None:
        self._counts: OrderedDict[tuple[str, int, int], int] = OrderedDict()
        self._limit = limit

    def failed(self, record: Record) -> int:
        key = (record.topic, record.partition, record.offset)
        count = self._counts.pop(key, 0) + 1
        self._counts[key] = count
        while len(self._counts) > self._limit:
            self._counts.popitem(last=False)
        return count

    def forget(self, record: Record) -> None:
        self._counts.pop((record.topic, record.partition, record.offset), None)


class RehearsedFailureError(RuntimeError):
    """Raised instead of handling an event about a rehearsal subject (dev and test only)."""


class FailureHandling:
    """One consumer's failure policy: what to do when processing `record` raised.

    `rehearse` names order ids whose events fail on purpose (a failure of
    unknown kind, as a bug would), so the whole path can be rehearsed on a
    running shop; services refuse to set it in prod.
    """

    def __init__(
        self,
        *,
        group: str,
        dead_letters: DeadLetters,
        health: Health,
        policy: RetryPolicy | None = None,
        rehearse: Collection[str] = (),
    ) -> None:
        self.group = group
        self.dead_letters = dead_letters
        self.health = health
        self.policy = policy or RetryPolicy()
        self.rehearse = frozenset(rehearse)
        self._attempts = Attempts()
        for what in ("processed", "dead_lettered", "retried.transient", "retried.unknown"):
            health.count(what, 0)  # exported at 0 from the start: `increase()` sees the first

    @classmethod
    def for_consumer(
        cls,
        producer: Producer,
        *,
        group: str,
        fact_topic: str,
        source: str,
        policy: RetryPolicy | None = None,
        rehearse: Collection[str] = (),
    ) -> FailureHandling:
        """The standard set-up: dead letters via `producer`, facts on `fact_topic`."""
        return cls(
            group=group,
            dead_letters=DeadLetters(producer, group=group, fact_topic=fact_topic, source=source),
            health=Health(f"consumer:{group}"),
            policy=policy,
            rehearse=rehearse,
        )

    def check_rehearsal(self, event: Event[EventData]) -> None:
        """Fail on purpose for an event about a rehearsal subject."""
        if event.subject is not None and event.subject in self.rehearse:
            raise RehearsedFailureError(f"rehearsed failure for {event.subject}")

    def succeeded(self, record: Record) -> None:
        self._attempts.forget(record)
        self.health.count("processed")  # `shoptrail_processed_total{component}`
        self.health.working()

    async def failed(
        self, record: Record, error: BaseException, *, event_type: str | None = None
    ) -> bool:
        """Dead-letter `record` (True: commit and move on) or wait a backoff step (False: retry).

        A failure while dead-lettering (Kafka away) is itself transient: wait, retry.
        """
        kind = classify(error)
        attempt = self._attempts.failed(record)
        reason = describe(error)
        give_up = kind is FailureKind.PERMANENT or (
            kind is FailureKind.UNKNOWN and attempt >= self.policy.max_attempts
        )
        if give_up:
            try:
                await self.dead_letters.move(record, reason, event_type=event_type)
            except Exception as exc:
                reason = f"could not dead-letter: {describe(exc)}"
                kind = FailureKind.TRANSIENT
            else:
                self._attempts.forget(record)
                self.health.count("dead_lettered")
                return True
        await self._back_off(record, kind, attempt, reason)
        return False

    async def _back_off(self, record: Record, kind: FailureKind, attempt: int, reason: str) -> None:
        delay = self.policy.backoff.delay(attempt)
        self.health.failing(reason)
        self.health.count(f"retried.{kind.value}")
        log.warning(
            "processing failed; retrying after a backoff",
            extra={
                "group": self.group,
                "topic": record.topic,
                "partition": record.partition,
                "offset": record.offset,
                "kind": kind.value,
                "attempt": attempt,
                "retry_in_s": round(delay, 2),
                "reason": reason,
            },
        )
        await asyncio.sleep(delay)


def subscribe_events(
    broker: KafkaBroker,
    *topics: str,
    group_id: str,
    handler: EventHandler,
    failures: FailureHandling,
    types: Collection[str] | None = None,
    **options: Any,
) -> None:
    """Subscribe `handler` to the events on `topics` (only `types`, if given), at least once.

    The handler must be idempotent on `event.id`: after a crash, the messages
    since the last commit are delivered again. What happens when it raises is
    `failures`' decision (module docstring).
    """

    @event_scope
    async def on_message(message: KafkaMessage) -> None:
        record = message.raw_message
        assert not isinstance(record, tuple), "subscribe_events is for one message at a time"
        event_type: str | None = None
        try:
            event = decode(record.value or b"")  # MalformedEventError is permanent
            event_type = event.type
            bind_event_id(event.id)
            if types is None or event.type in types:
                failures.check_rehearsal(event)
                await handler(event)
        except Exception as exc:
            if not await failures.failed(record, exc, event_type=event_type):
                await message.nack()  # rewinds the partition to this record
            return
        failures.succeeded(record)

    broker.subscriber(
        *topics,
        group_id=group_id,
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.NACK_ON_ERROR,
        **options,
    )(on_message)
