"""Use case: a staff note on an order becomes an `order.note_added` event on the bus.

The note is not written to the log here: the log's consumer reads it back
like any other event, so the topics stay the log's one source of truth and a
replay rebuilds every note with its author.
"""

from __future__ import annotations

from typing import Protocol
from uuid import UUID

from shoptrail.activity.domain.entries import SOURCE
from shoptrail.events import Event, new_event
from shoptrail.events.notes import OrderNoteAdded


class EventSink(Protocol):
    async def publish(self, event: Event[OrderNoteAdded]) -> object: ...


async def add_note(
    *, order_id: str, author: str, text: str, note_id: UUID, sink: EventSink
) -> Event[OrderNoteAdded]:
    """Publish the note and return once Kafka has it; `note_id` is its event id.

    The id comes from the caller (the form's hidden id, or an Idempotency-Key),
    so submitting the same note twice publishes the same event twice, and the
    log, which keeps one entry per event id, shows it once.
    """
    data = OrderNoteAdded(order_id=order_id, author=author, text=text)
    event = new_event(data, source=SOURCE, id=note_id)
    await sink.publish(event)
    return event
