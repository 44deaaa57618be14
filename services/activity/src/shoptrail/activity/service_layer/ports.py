"""What the use cases need from the outside world."""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from shoptrail.activity.domain.entries import LogEntry


@dataclass(frozen=True)
class WriteResult:
    """What one batch write did."""

    inserted_ids: list[int] = field(default_factory=list)
    duplicates: int = 0
    resolved_ids: list[int] = field(default_factory=list)

    @property
    def inserted(self) -> int:
        return len(self.inserted_ids)


class LogStore(abc.ABC):
    """Where entries are written; idempotent on `event_id`."""

    lanes: int = 1
    """How many writes may run at once (each in its own transaction)."""

    @abc.abstractmethod
    async def write(self, entries: Sequence[LogEntry]) -> WriteResult:
        """Write a batch in one transaction; entries already logged are skipped."""


class DeadLetters(abc.ABC):
    """Where unreadable messages are moved, with their original headers."""

    @abc.abstractmethod
    async def publish(self, record: Any, error: str) -> bool:
        """Move `record` to its topic's dead-letter topic; returns once durable.

        True when it went as a reference (too large to copy), not a copy.
        """
