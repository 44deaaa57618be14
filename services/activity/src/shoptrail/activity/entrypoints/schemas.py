"""What the HTTP API returns and accepts."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, Field, computed_field, field_validator

from shoptrail.activity.domain.feed import Cursor


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
    order_number: str | None = Field(
        default=None,
        description="The shop's number for the order (`SS-261201-C600`), once the order's "
        "snapshot is in the log; link and show it rather than `order_id`.",
    )
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
    trace_id: str | None = Field(
        default=None,
        description="The OpenTelemetry trace (32 hex digits) the event was made in: one "
        "order's whole story across the services is one trace.",
    )
    inserted_at: datetime = Field(description="When the log recorded it.")

    @computed_field(  # type: ignore[prop-decorator]
        description="The feed's position of this entry: `/api/feed?after=` it gives the "
        "entries older than this one."
    )
    @property
    def cursor(self) -> str:
        return Cursor(self.occurred_at, self.id).encode()


class ChangedEntryOut(EntryOut):
    inserted: bool = Field(
        description="True when these changes added the entry; false when they only updated "
        "it (a resolution): update it where the reader shows it, do not add it."
    )
    matches: bool = Field(
        description="Whether the filters asked for match the entry now. One that does not "
        "may still be on the reader's screen from before (an entry resolved away from "
        "the Needs attention tab): update it there, do not add it."
    )


class FeedPageOut(BaseModel):
    """A page of the feed, newest first."""

    entries: list[EntryOut]
    older: str | None = Field(description="Cursor for the next (older) page: `?after=`.")
    newer: str | None = Field(description="Cursor for the previous (newer) page: `?before=`.")
    total: int = Field(description="Entries in this tab with these filters.")
    total_capped: bool = Field(description="True when a search matched more than `total`.")
    seq: int = Field(
        description="The change number this page is current to: "
        "`/api/feed/changes?since=` it gives everything that changed after."
    )


class FeedChangesOut(BaseModel):
    """What changed after change `since`: how a page stays current without a gap."""

    seq: int = Field(description="Up to this change; ask again with `since=` this.")
    complete: bool = Field(description="False when more changes follow `seq`: ask again at once.")
    reload: bool = Field(
        description="True when the changes cannot be given as increments (pruned, the log "
        "rebuilt, or too many at once): start again from the first page of `/api/feed`."
    )
    entries: list[ChangedEntryOut] = Field(
        description="Every entry the changes touched, as it is now, newest first."
    )


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
