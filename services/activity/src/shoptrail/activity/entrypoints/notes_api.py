"""`POST /api/orders/{id}/notes`: a staff note, answered 201 once Kafka acknowledged it."""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, Field, ValidationError

from shoptrail.activity.entrypoints.api import OrderId
from shoptrail.activity.service_layer.notes import add_note
from shoptrail.events.failures import describe
from shoptrail.events.ids import uuid7
from shoptrail.events.notes import MAX_NOTE
from shoptrail.events.producer import Producer
from shoptrail.events.publisher import EventPublisher

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api", tags=["notes"])
RETRY_AFTER_S = 5


class NoteIn(BaseModel):
    author: str = Field(min_length=1, max_length=100, description="Who wrote it (the admin).")
    text: str = Field(min_length=1, max_length=MAX_NOTE)
    note_id: UUID | None = Field(
        default=None,
        description="A client-made id (UUIDv7): the same id twice makes one note. "
        "`Idempotency-Key` (a UUID) does the same.",
    )


class NoteOut(BaseModel):
    note_id: UUID
    order_id: str
    author: str
    text: str


class NotesChannel:
    """The producer notes go out on, the topic, and how long an acknowledgement may take."""

    def __init__(self, producer: Producer, topic: str, timeout_s: float) -> None:
        self.producer = producer
        self.publisher = EventPublisher(producer, topic)
        self.timeout_s = timeout_s


def _channel(request: Request) -> NotesChannel:
    channel: NotesChannel = request.app.state.notes
    return channel


ChannelDep = Annotated[NotesChannel, Depends(_channel)]
UNAVAILABLE: dict[int | str, dict[str, Any]] = {
    503: {"description": "Kafka did not acknowledge the note; try again after Retry-After."},
    422: {"description": "An empty or too long note, or an Idempotency-Key that is no UUID."},
}


@router.post(
    "/orders/{order_id}/notes", status_code=201, response_model=NoteOut, responses=UNAVAILABLE
)
async def post_note(
    order_id: OrderId,
    body: NoteIn,
    channel: ChannelDep,
    request: Request,
) -> NoteOut:
    """Add a note to the order's timeline (as an `order.note_added` event).

    An `Idempotency-Key` header (a UUID), like `note_id`, makes a resend one note.
    """
    note_id = body.note_id or _key_id(request.headers.get("Idempotency-Key")) or uuid7()
    try:
        async with asyncio.timeout(channel.timeout_s):
            event = await add_note(
                order_id=order_id,
                author=body.author,
                text=body.text,
                note_id=note_id,
                sink=channel.publisher,
            )
    except ValidationError as exc:  # blank once cleaned and trimmed
        raise HTTPException(422, f"not a note: {exc.errors()[0]['msg']}") from None
    except Exception as exc:  # Kafka away or slow: nothing is known written, so say try again
        log.warning(
            "could not publish a note", extra={"order_id": order_id, "reason": describe(exc)}
        )
        raise HTTPException(
            503,
            "the note could not be saved now; try again",
            headers={"Retry-After": str(RETRY_AFTER_S)},
        ) from None
    data = event.data
    return NoteOut(note_id=event.id, order_id=data.order_id, author=data.author, text=data.text)


def _key_id(key: str | None) -> UUID | None:
    """Read by hand, not declared: OpenAPI cannot say "absent or a UUID" of a header."""
    if key is None:
        return None
    try:
        return UUID(key)
    except ValueError:
        raise HTTPException(422, "Idempotency-Key must be a UUID") from None
