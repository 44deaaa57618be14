"""Use case: record a batch of consumed messages in the log."""

from __future__ import annotations

import asyncio
import logging
import time
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.trace import SpanKind

from shoptrail.activity.domain.entries import LogEntry, dead_letter_entry, entry_from_event
from shoptrail.activity.service_layer.ports import DeadLetters, LogStore, WriteResult
from shoptrail.events import MalformedEventError, decode
from shoptrail.events.codec import order_id_of_record
from shoptrail.events.failures import Backoff, FailureKind, classify, describe
from shoptrail.events.tracing import is_sampled, start_span_from

log = logging.getLogger(__name__)

YIELD_EVERY = 16  # records parsed between yields, so an in-flight write keeps moving


@dataclass
class BatchOutcome:
    read: int = 0
    dead_lettered: int = 0
    write: WriteResult = field(default_factory=WriteResult)
    isolated: bool = False
    """The batch failed as a whole and was written in parts (see `record_isolating`)."""

    def add(self, result: WriteResult) -> None:
        self.write = WriteResult(
            inserted_ids=self.write.inserted_ids + result.inserted_ids,
            duplicates=self.write.duplicates + result.duplicates,
            resolved_ids=self.write.resolved_ids + result.resolved_ids,
        )

    def merge(self, other: BatchOutcome) -> None:
        """Add what a part of this batch did (`read` stays this batch's own count)."""
        self.dead_lettered += other.dead_lettered
        self.add(other.write)


async def _parse(
    records: Sequence[Any], dead_letters: DeadLetters | None, outcome: BatchOutcome
) -> list[LogEntry]:
    entries: list[LogEntry] = []
    for n, record in enumerate(records, 1):
        try:
            entry = entry_from_event(decode(record.value or b""))
            entry.kafka_topic = record.topic
            entry.kafka_partition = record.partition
            entry.kafka_offset = record.offset
            entries.append(entry)
        except MalformedEventError as exc:
            outcome.dead_lettered += 1
            by_reference = False
            if dead_letters is not None:
                by_reference = await dead_letters.publish(record, str(exc))
            entries.append(
                dead_letter_entry(
                    topic=record.topic,
                    partition=record.partition,
                    offset=record.offset,
                    error=str(exc),
                    timestamp_ms=record.timestamp,
                    order_id=order_key(record),
                    by_reference=by_reference,
                )
            )
        if n % YIELD_EVERY == 0:
            await asyncio.sleep(0)
    return entries


def order_key(record: Any) -> str | None:
    """The order an unreadable record was about, if it says (see `order_id_of_record`)."""
    return order_id_of_record(record.key, record.headers)


def lane_of(record: Any, lanes: int) -> int:
    """Which write lane a record takes: by its Kafka key, the entity it is about.

    One order's (one cart's, one provider's syncs', one problem's) events
    therefore stay in one lane, written in turn, so the read model folds them
    in order and a success finds its earlier error (auto-resolve: the rules'
    keys are the events' Kafka keys). Records without a key share lane 0.
    """
    key = record.key
    return zlib.crc32(key) % lanes if key and lanes > 1 else 0


async def record_batch(
    *,
    records: Sequence[Any],
    store: LogStore,
    dead_letters: DeadLetters | None,
    chunk: int = 500,
) -> BatchOutcome:
    """Parse every record; move unreadable ones aside (logging an error); write the rest.

    Records are split into `store.lanes` lanes (see `lane_of`) written
    concurrently, each in its own transactions. Within a lane, parsing chunk
    i+1 overlaps writing chunk i, and writes stay one after another. The call
    returns only when every chunk is committed, so the caller's offset commit
    still follows the database. Dead letters are published before the log
    commits: a crash in between only publishes the same dead letter again (its
    log entry's id is fixed by the record's coordinates). `dead_letters=None`
    (replay) logs without publishing.
    """
    outcome = BatchOutcome(read=len(records))
    lanes: list[list[Any]] = [[] for _ in range(max(store.lanes, 1))]
    for record in records:
        lanes[lane_of(record, len(lanes))].append(record)
    busy = [lane for lane in lanes if lane]
    if len(busy) <= 1:
        for lane in busy:
            await _record_lane(lane, store, dead_letters, outcome, chunk)
        return outcome
    try:
        async with asyncio.TaskGroup() as group:
            for lane in busy:
                group.create_task(_record_lane(lane, store, dead_letters, outcome, chunk))
    except ExceptionGroup as failed:  # the other lanes were cancelled; report the cause
        raise failed.exceptions[0] from None
    return outcome


async def _record_lane(
    records: Sequence[Any],
    store: LogStore,
    dead_letters: DeadLetters | None,
    outcome: BatchOutcome,
    chunk: int,
) -> None:
    in_flight: asyncio.Task[WriteResult] | None = None
    written: tuple[Sequence[LogEntry], int] = ((), 0)  # the entries in flight, and since when
    try:
        for start in range(0, len(records), chunk):
            started = time.time_ns()
            entries = await _parse(records[start : start + chunk], dead_letters, outcome)
            if in_flight is not None:
                outcome.add(await in_flight)
                _trace_logged(*written)
            in_flight = asyncio.create_task(store.write(entries))
            written = (entries, started)
        if in_flight is not None:
            outcome.add(await in_flight)
            in_flight = None
            _trace_logged(*written)
    finally:
        if in_flight is not None:
            # Wait for the cancelled write to roll back and give its connection up,
            # so a retry of the same records never races the write it replaces.
            in_flight.cancel()
            await asyncio.gather(in_flight, return_exceptions=True)


def _trace_logged(entries: Sequence[LogEntry], started_ns: int) -> None:
    """A span per entry whose trace is recorded: the log is the last stop of an order's
    story. It runs from the chunk's parsing to its commit. (Traces not sampled cost
    nothing here: the flag is checked before any span is made.)"""
    for entry in entries:
        if is_sampled(entry.traceparent):
            start_span_from(
                entry.traceparent,
                "activity log",
                kind=SpanKind.CONSUMER,
                attributes={"shoptrail.event.type": entry.event_type},
                start_time=started_ns,
            ).end()


async def record_resiliently(
    *,
    records: Sequence[Any],
    store: LogStore,
    dead_letters: DeadLetters | None,
    consumer: str,
) -> BatchOutcome:
    """`record_batch`, falling back to `record_isolating` for anything but a transient failure.

    A transient failure (the database away) is raised for the caller to wait out.
    """
    try:
        return await record_batch(records=records, store=store, dead_letters=dead_letters)
    except Exception as exc:
        if classify(exc) is FailureKind.TRANSIENT:
            raise
        log.warning(
            "a batch could not be stored; isolating the records that fail",
            extra={"records": len(records), "reason": describe(exc)},
        )
        return await record_isolating(
            records=records, store=store, dead_letters=dead_letters, consumer=consumer
        )


async def record_isolating(
    *,
    records: Sequence[Any],
    store: LogStore,
    dead_letters: DeadLetters | None,
    consumer: str,
    max_attempts: int = 3,
    backoff: Backoff | None = None,
) -> BatchOutcome:
    """Like `record_batch`, for a batch that failed: write what can be written.

    The batch is split in halves until the records that cannot be stored are
    alone; each of those is tried `max_attempts` times (once if the failure is
    permanent), then moved to the dead-letter topic and logged as an error
    entry on its order's timeline. Writes are idempotent, so records written
    before the batch failed are only counted as duplicates. A transient failure
    (the database away) is raised for the caller to wait out.
    """
    outcome = BatchOutcome(read=len(records), isolated=True)
    await _isolate(
        list(records), store, dead_letters, outcome, consumer, max_attempts, backoff or Backoff()
    )
    return outcome


async def _isolate(
    records: list[Any],
    store: LogStore,
    dead_letters: DeadLetters | None,
    outcome: BatchOutcome,
    consumer: str,
    max_attempts: int,
    backoff: Backoff,
) -> None:
    attempts = 0
    while True:
        try:
            outcome.merge(
                await record_batch(records=records, store=store, dead_letters=dead_letters)
            )
            return
        except Exception as exc:
            kind = classify(exc)
            if kind is FailureKind.TRANSIENT:
                raise
            if len(records) > 1:
                middle = len(records) // 2
                for part in (records[:middle], records[middle:]):
                    await _isolate(
                        part, store, dead_letters, outcome, consumer, max_attempts, backoff
                    )
                return
            attempts += 1
            if kind is FailureKind.PERMANENT or attempts >= max_attempts:
                await _set_aside(records[0], describe(exc), store, dead_letters, outcome, consumer)
                return
            log.warning(
                "could not store a record; trying it again",
                extra={
                    "topic": records[0].topic,
                    "partition": records[0].partition,
                    "offset": records[0].offset,
                    "attempt": attempts,
                    "reason": describe(exc),
                },
            )
            await backoff.wait(attempts)


async def _set_aside(
    record: Any,
    reason: str,
    store: LogStore,
    dead_letters: DeadLetters | None,
    outcome: BatchOutcome,
    consumer: str,
) -> None:
    """Dead-letter a record the log cannot take, and log an error entry for it instead."""
    try:
        event_type: str | None = decode(record.value or b"").type
    except MalformedEventError:
        event_type = None
    error = f"could not be stored: {reason}"
    by_reference = await dead_letters.publish(record, error) if dead_letters is not None else False
    entry = dead_letter_entry(
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        error=error,
        timestamp_ms=record.timestamp,
        consumer=consumer,
        event_type=event_type,
        order_id=order_key(record),
        by_reference=by_reference,
    )
    outcome.dead_lettered += 1
    outcome.add(await store.write([entry]))
