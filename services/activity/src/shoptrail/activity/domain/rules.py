"""Auto-resolve: a later success supersedes an earlier error."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property

from shoptrail.activity.domain.entries import LogEntry


@dataclass(frozen=True)
class Supersedes:
    """`success` resolves open `errors` that share its key and happened no later."""

    success: str
    errors: tuple[str, ...]
    category: str
    key: str
    """`order_id`, or a field of the payload (`provider`)."""

    @cached_property
    def types(self) -> frozenset[str]:
        return frozenset((self.success, *self.errors))

    def key_of(self, entry: LogEntry) -> str | None:
        value = entry.order_id if self.key == "order_id" else getattr(entry.data, self.key, None)
        return str(value) if value is not None else None

    def touched_keys(self, entries: Iterable[LogEntry]) -> list[str]:
        """Keys this batch may have changed: new successes or new (possibly late) errors."""
        keys = {self.key_of(e) for e in entries if e.event_type in self.types}
        return sorted(k for k in keys if k is not None)


RULES = (
    Supersedes(
        success="order.submitted",
        errors=("order.submission_failed", "job.exhausted"),
        category="fulfilment",
        key="order_id",
    ),
    Supersedes(
        success="sync.completed",
        errors=("sync.failed",),
        category="syncs",
        key="provider",
    ),
    Supersedes(
        success="system.action_cleared",
        errors=("system.action_needed",),
        category="system",
        key="problem",
    ),
)


def resolution_note(success_message: str) -> str:
    """Why an entry was resolved without anyone clicking."""
    return f"superseded by a later success: {success_message}"
