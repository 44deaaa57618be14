"""Use case: record a batch of consumed messages in the log."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from shoptrail.activity.domain.entries import LogEntry, dead_letter_entry, entry_from_event
from shoptrail.activity.service_layer.ports import DeadLetters, LogStore, WriteResult
from shoptrail.events import MalformedEventError, decode


@dataclass(frozen=True)
class BatchOutcome:
    read: int
    dead_lettered: int
    write: WriteResult


async def record_batch(
    *, records: Sequence[Any], store: LogStore, dead_letters: DeadLetters | None
) -> BatchOutcome:
    """Parse every record; move unreadable ones aside (logging an error); write the rest.

    Dead letters are published before the log commits, so a crash in between
    only publishes the same dead letter again (the log entry's id is fixed by
    the record's coordinates). `dead_letters=None` (replay) logs without publishing.
    """
    entries: list[LogEntry] = []
    dead = 0
    for record in records:
        try:
            entries.append(entry_from_event(decode(record.value or b"")))
        except MalformedEventError as exc:
            dead += 1
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
    result = await store.write(entries)
    return BatchOutcome(read=len(records), dead_lettered=dead, write=result)
