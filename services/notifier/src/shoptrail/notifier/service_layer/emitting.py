"""Wrapping the notifier's facts in envelopes."""

from __future__ import annotations

from typing import Any, TypeVar

from shoptrail.events import Event, EventData, new_event
from shoptrail.notifier.service_layer.ports import Clock

SOURCE = "/services/notifier"

D = TypeVar("D", bound=EventData)


def notifier_event(data: D, *, clock: Clock, caused_by: Event[Any] | None = None) -> Event[D]:
    """An event from the notifier, timed by its clock and linked to its cause."""
    return new_event(data, source=SOURCE, time=clock.now(), caused_by=caused_by)
