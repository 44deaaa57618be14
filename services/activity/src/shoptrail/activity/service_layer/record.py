"""Use case: record a batch of consumed messages in the log."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from shoptrail.activity.domain.entries import LogEntry, dead_letter_entry, entry_from_event
from shoptrail.activity.service_layer.ports import DeadLetters, LogStore, WriteResult
from shoptrail.events import MalformedEventError, decode

YIELD_EVERY = 64  # records parsed between yields, so an in-flight write keeps moving


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


async def record_batch(
    *,
    records: Sequence[Any],
    store: LogStore,
    dead_letters: DeadLetters | None,
    chunk: int = 500,
) -> BatchOutcome:
    """Parse every record; move unreadable ones aside (logging an error); write the rest.

    Parsing chunk i+1 overlaps writing chunk i (writes stay one after another);
    the call returns only when every chunk is committed, so the caller's offset
    commit still follows the database. Dead letters are published before the
    log commits: a crash in between only publishes the same dead letter again
    (its log entry's id is fixed by the record's coordinates). `dead_letters=None`
    (replay) logs without publishing.
    """
    outcome = BatchOutcome(read=len(records))
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
    return outcome
