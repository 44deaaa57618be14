"""The real clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from shoptrail.notifier.service_layer.ports import Clock


class SystemClock(Clock):
    """Wall-clock time, in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock(Clock):
    """A clock that only moves when told to (tests, and replaying history by hand)."""

    def __init__(self, start: datetime) -> None:
        self._now = start

    def now(self) -> datetime:
        return self._now

    def advance(self, by: timedelta) -> None:
        self._now += by
