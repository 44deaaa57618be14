"""`POST /api/entries/open`: which of these events still need the owner's attention.

The notifier's alerts consumer sees every event on the bus, but only activity
knows what became an entry and whether the owner has resolved it. The notifier
asks here (service token, like every service-to-service call) both when an
event arrives and again just before it sends, so resolved items never alert.
Events activity has not stored yet are reported as `pending`, so the caller can
ask again a little later instead of guessing.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from shoptrail.activity.adapters.tables import activity_event_ids, activity_log
from shoptrail.events import Level

router = APIRouter(prefix="/api", tags=["alerts"])

MAX_EVENT_IDS = 1000
"""One request covers a whole digest; a storm is asked about in pages of this size."""

ATTENTION = (Level.WARNING.value, Level.ERROR.value)


class OpenEntriesIn(BaseModel):
    event_ids: Annotated[list[uuid.UUID], Field(max_length=MAX_EVENT_IDS)]


class OpenEntryOut(BaseModel):
    event_id: uuid.UUID
    entry_id: int
    title: str
    level: str
    order_id: str | None
    fingerprint: str | None = None
    """The entry's group (entries alike share it): a digest folds them into one line."""


class OpenEntriesOut(BaseModel):
    open: list[OpenEntryOut]
    """Logged, a warning or an error, and not resolved or dismissed."""
    closed: list[uuid.UUID]
    """Logged, but resolved, dismissed or not worth an alert (info, debug)."""
    pending: list[uuid.UUID]
    """Not in the log (yet): the consumer may not have stored them."""


async def open_entries(engine: AsyncEngine, event_ids: list[uuid.UUID]) -> OpenEntriesOut:
    """Split `event_ids` into open entries, closed ones and the ones not logged yet."""
    t, ids = activity_log, activity_event_ids
    stmt = select(
        t.c.event_id, t.c.id, t.c.message, t.c.level, t.c.order_id, t.c.resolved_at, t.c.fingerprint
    )
    async with engine.connect() as conn:
        # The partitioned log finds events by its side table's key (migration 0012); a
        # one-table log (before 0012's swap) by its own unique index.
        if await conn.scalar(text(f"SELECT to_regclass('{ids.name}') IS NOT NULL")):
            stmt = stmt.join_from(ids, t, t.c.id == ids.c.log_id).where(
                ids.c.event_id.in_(event_ids)
            )
        else:
            stmt = stmt.where(t.c.event_id.in_(event_ids))
        rows = (await conn.execute(stmt)).all()
    found: dict[uuid.UUID, OpenEntryOut | None] = {}
    for event_id, entry_id, message, level, order_id, resolved_at, key in rows:
        alive = resolved_at is None and level in ATTENTION
        found[event_id] = (
            OpenEntryOut(
                event_id=event_id,
                entry_id=entry_id,
                title=message,
                level=level,
                order_id=order_id,
                fingerprint=key,
            )
            if alive
            else None
        )
    return OpenEntriesOut(
        open=[entry for entry in found.values() if entry is not None],
        closed=[event_id for event_id, entry in found.items() if entry is None],
        pending=[event_id for event_id in dict.fromkeys(event_ids) if event_id not in found],
    )


@router.post("/entries/open", response_model=OpenEntriesOut)
async def post_open_entries(body: OpenEntriesIn, request: Request) -> OpenEntriesOut:
    """Of these events, the entries that are open (warning or error, unresolved)."""
    engine: AsyncEngine = request.app.state.engine
    return await open_entries(engine, body.event_ids)
