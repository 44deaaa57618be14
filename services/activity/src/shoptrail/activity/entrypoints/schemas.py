"""What the HTTP API returns and accepts."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, Field, field_validator


class LiveEntryOut(BaseModel):
    """An entry as the live WebSocket pushes it: everything but the payload.

    Every open admin tab receives every new entry, so the payload (addresses,
    line items) stays behind the authenticated HTTP API, fetched when a page
    shows it; the frames stay small.
    """

    id: int
    event_id: UUID
    event_type: str
    category: str
    level: Literal["debug", "info", "warning", "error"]
    order_id: str | None
    message: str
    occurred_at: datetime = Field(description="When it happened at its source.")
    resolved_at: datetime | None
    resolution: Literal["resolved", "dismissed", "auto"] | None
    resolution_note: str | None
    needs_attention: bool


class EntryOut(LiveEntryOut):
    """One activity log entry, whole."""

    source: str
    payload: dict[str, Any]
    correlation_id: str | None
    inserted_at: datetime = Field(description="When the log recorded it.")


class FeedPageOut(BaseModel):
    """A page of the feed, newest first."""

    entries: list[EntryOut]
    older: str | None = Field(description="Cursor for the next (older) page: `?after=`.")
    newer: str | None = Field(description="Cursor for the previous (newer) page: `?before=`.")
    total: int = Field(description="Entries in this tab with these filters.")
    total_capped: bool = Field(description="True when a search matched more than `total`.")


class CountOut(BaseModel):
    count: int


class ResolveIn(BaseModel):
    note: str | None = Field(default=None, max_length=2000)


class ResolvedOut(BaseModel):
    resolved: int
    ids: list[int]


class OrderOut(BaseModel):
    """The order read model, built from `order.*` events."""

    @field_validator("line_items", mode="before")
    @classmethod
    def _none_is_empty(cls, value: object) -> object:
        return [] if value is None else value

    order_id: str
    order_number: str | None
    customer_email: str | None
    total_amount: int | None = Field(description="Minor units.")
    currency: str | None
    line_items: list[dict[str, Any]] = Field(default_factory=list)
    shipping_address: dict[str, Any] | None
    status: str
    status_at: datetime
    provider: str | None
    provider_order_id: str | None
    carrier: str | None
    tracking_number: str | None
    tracking_url: str | None
    refunded_amount: int
    created_at: datetime | None
    updated_at: datetime
