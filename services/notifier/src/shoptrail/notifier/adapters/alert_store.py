"""The alert tables: the owner's alert settings and the items waiting to be told.

Separate from the email unit of work: an alert item is not a customer email,
and only the (serialised) dispatch job changes items after the consumer
recorded them.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any
from uuid import UUID

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shoptrail.events import Event
from shoptrail.events.outbox import add_to_outbox
from shoptrail.notifier.adapters.tables import alert_items, alert_settings, event_outbox
from shoptrail.notifier.domain.alerts import AlertSettings

WAITING = ("new", "pending")


@dataclass(frozen=True)
class Waiting:
    event_id: UUID
    seen_at: datetime


def _hhmm(value: time | None) -> str | None:
    return value.strftime("%H:%M") if value is not None else None


def _time(value: str | None) -> time | None:
    return time.fromisoformat(value) if value else None


class AlertStore:
    """SQL over `alert_settings` and `alert_items` (notifier's own database)."""

    def __init__(self, engine: AsyncEngine, *, topic: str) -> None:
        self._engine = engine
        self._topic = topic

    async def settings(self) -> tuple[AlertSettings, datetime | None]:
        """The owner's alert settings (defaults until saved) and when the last alert went."""
        async with self._engine.connect() as conn:
            row = (await conn.execute(select(alert_settings))).mappings().first()
        if row is None:
            return AlertSettings(), None
        chosen = AlertSettings(
            enabled=row["enabled"],
            email=row["email"],
            digest_minutes=row["digest_minutes"],
            quiet_start=_time(row["quiet_start"]),
            quiet_end=_time(row["quiet_end"]),
            timezone=row["timezone"],
            webhook_url=row["webhook_url"],
            webhook_secret=row["webhook_secret"],
        )
        return chosen, row["last_sent_at"]

    async def save_settings(self, chosen: AlertSettings, *, now: datetime) -> None:
        values: dict[str, Any] = {
            "enabled": chosen.enabled,
            "email": chosen.email,
            "digest_minutes": chosen.digest_minutes,
            "quiet_start": _hhmm(chosen.quiet_start),
            "quiet_end": _hhmm(chosen.quiet_end),
            "timezone": chosen.timezone,
            "webhook_url": chosen.webhook_url,
            "webhook_secret": chosen.webhook_secret,
            "updated_at": now,
        }
        statement = insert(alert_settings).values(id=1, **values)
        statement = statement.on_conflict_do_update(index_elements=["id"], set_=values)
        async with self._engine.begin() as conn:
            await conn.execute(statement)

    async def add(self, event_id: UUID, *, now: datetime) -> bool:
        """Record an event that may need an alert; False when it was already recorded."""
        statement = (
            insert(alert_items)
            .values(event_id=event_id, state="new", seen_at=now)
            .on_conflict_do_nothing(index_elements=["event_id"])
        )
        async with self._engine.begin() as conn:
            return (await conn.execute(statement)).rowcount == 1

    async def waiting(self) -> list[Waiting]:
        """Items not yet sent or dropped, oldest first."""
        t = alert_items
        stmt = select(t.c.event_id, t.c.seen_at).where(t.c.state.in_(WAITING)).order_by(t.c.seen_at)
        async with self._engine.connect() as conn:
            return [Waiting(e, s) for e, s in (await conn.execute(stmt)).all()]

    async def finish(
        self,
        event_ids: Collection[UUID],
        state: str,
        *,
        now: datetime,
        events: Collection[Event[Any]] = (),
        sent_at: datetime | None = None,
    ) -> None:
        """Set items' final state, stage `events` and note `sent_at`, in one transaction."""
        async with self._engine.begin() as conn:
            await self._finish(conn, event_ids, state, now)
            for event in events:
                await add_to_outbox(conn, event_outbox, event, topic=self._topic)
            if sent_at is not None:
                await conn.execute(
                    insert(alert_settings)
                    .values(id=1, last_sent_at=sent_at)
                    .on_conflict_do_update(index_elements=["id"], set_={"last_sent_at": sent_at})
                )

    @staticmethod
    async def _finish(
        conn: AsyncConnection, event_ids: Collection[UUID], state: str, now: datetime
    ) -> None:
        if event_ids:
            await conn.execute(
                update(alert_items)
                .where(alert_items.c.event_id.in_(list(event_ids)))
                .values(state=state, finished_at=now)
            )
