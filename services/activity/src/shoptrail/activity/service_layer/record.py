"""Use case: record a batch of consumed messages in the log."""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from shoptrail.activity.domain.entries import LogEntry, dead_letter_entry, entry_from_event
from shoptrail.activity.service_layer.ports import DeadLetters, LogStore, WriteResult
from shoptrail.events import MalformedEventError, decode

YIELD_EVERY = 16  # records parsed between yields, so an in-flight write keeps moving


@dataclass
class BatchOutcome:
    read: int = 0
    dead_lettered: int = 0
    write: WriteResult = field(default_factory=WriteResult)

    def add(self, result: WriteResult) -> None:
        self.write = WriteResult(
            inserted_ids=self.write.inserted_ids + result.inserted_ids,
            duplicates=self.write.duplicates + result.duplicates,
            resolved_ids=self.write.resolved_ids + result.resolved_ids,
        )


async def _parse(
    records: Sequence[Any], dead_letters: DeadLetters | None, outcome: BatchOutcome
) -> list[LogEntry]:
    entries: list[LogEntry] = []
    for n, record in enumerate(records, 1):
        try:
            entries.append(entry_from_event(decode(record.value or b"")))
        except MalformedEventError as exc:
            outcome.dead_lettered += 1
            if dead_letters is not None:
                await dead_letters.publish(record, str(exc))
            entries.append(
                dead_letter_entry(
                    topic=record.topic,
                    partition=record.partition,
                    offset=record.offset,
                    error=str(exc),
                    timestamp_ms=record.timestamp,
                )
            )
        if n % YIELD_EVERY == 0:
            await asyncio.sleep(0)
    return entries


def lane_of(record: Any, lanes: int) -> int:
    """Which write lane a record takes: by its Kafka key, which is the order id.

    One order's events therefore stay in one lane, written in turn, so the read
    model folds them in order and an order's success finds its earlier error
    (auto-resolve). Records without a key (syncs, system facts) all share lane 0,
    which keeps the provider-keyed sync rule within one lane too.
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
    try:
        for start in range(0, len(records), chunk):
            entries = await _parse(records[start : start + chunk], dead_letters, outcome)
            if in_flight is not None:
                outcome.add(await in_flight)
            in_flight = asyncio.create_task(store.write(entries))
        if in_flight is not None:
            outcome.add(await in_flight)
            in_flight = None
    finally:
        if in_flight is not None:
            in_flight.cancel()
