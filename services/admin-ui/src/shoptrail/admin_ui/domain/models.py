"""The activity service's answers as the admin reads them (unknown fields are ignored)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shoptrail.events.money import format_money

Level = Literal["debug", "info", "warning", "error"]
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class _Read(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class Entry(_Read):
    """One activity log entry."""

    id: int
    event_type: str
    category: str
    level: Level
    order_id: str | None = None
    order_number: str | None = None  # the shop's number, once the order is known
    message: str
    payload: dict[str, Any] = Field(default_factory=dict)
    occurred_at: datetime
    resolved_at: datetime | None = None
    resolution: str | None = None
    resolution_note: str | None = None
    needs_attention: bool = False
    trace_id: str | None = Field(default=None, pattern=r"^[0-9a-f]{32}$")
    cursor: str | None = None  # where "older than this entry" starts, for the pager
    # In live changes (`FeedChanges`): added by them (else only updated), and whether the
    # page's filters match it now. A row the page adds is both; others it only updates.
    inserted: bool = False
    matches: bool = True

    @property
    def arrives(self) -> bool:
        return self.inserted and self.matches

    @property
    def at_us(self) -> int:
        """When it happened, in µs since the epoch: with the id, the feed's order (newest first)."""
        return (self.occurred_at - EPOCH) // timedelta(microseconds=1)

    @property
    def order_label(self) -> str:
        """How the shop names the order: its number, else (not yet known) the id."""
        return self.order_number or str(self.payload.get("order_number") or self.order_id or "")

    @property
    def is_problem(self) -> bool:
        """Warnings and errors get the ⚠ icon; everything else the ● dot."""
        return self.level in ("warning", "error")


class KafkaCoordinates(_Read):
    topic: str
    partition: int
    offset: int


class EntryDetail(Entry):
    """One entry whole, for its details page: where it came from and when it was heard of."""

    source: str
    event_id: str
    correlation_id: str | None = None
    received_at: datetime
    kafka: KafkaCoordinates | None = None
    references: dict[str, str] = Field(default_factory=dict)


class Note(_Read):
    """A staff note as the activity service accepted it (its event is on the bus)."""

    note_id: str
    order_id: str
    author: str
    text: str


class FeedPage(_Read):
    """A page of the feed, newest first, with cursors to its neighbours."""

    entries: list[Entry]
    older: str | None = None
    newer: str | None = None
    total: int = 0
    total_capped: bool = False
    seq: int = 0  # the change number the page is current to


class FeedChanges(_Read):
    """What changed after change `since`, up to `seq` (see activity's `/api/feed/changes`)."""

    seq: int
    complete: bool = True
    reload: bool = False
    entries: list[Entry] = Field(default_factory=list)


class Order(_Read):
    """The order read model kept by the activity service."""

    order_id: str
    order_number: str | None = None
    customer_email: str | None = None
    total_amount: int | None = None
    currency: str | None = None
    line_items: list[dict[str, Any]] = Field(default_factory=list)
    shipping_address: dict[str, Any] | None = None
    status: str
    status_at: datetime
    provider: str | None = None
    provider_order_id: str | None = None
    carrier: str | None = None
    tracking_number: str | None = None
    tracking_url: str | None = None
    refunded_amount: int = 0
    created_at: datetime | None = None

    @property
    def total(self) -> str:
        return money(self.total_amount, self.currency)

    @property
    def in_progress(self) -> bool:
        """Still moving: worth a Refresh control and live updates."""
        return self.status not in ("delivered", "cancelled", "refunded")


class OrdersPage(_Read):
    """A page of orders, newest placed first, with cursors to its neighbours and counts."""

    orders: list[Order]
    next: str | None = None
    prev: str | None = None
    total: int = 0
    counts: dict[str, int] = Field(default_factory=dict)


class LiveToken(_Read):
    """A short-lived token for the browser's WebSocket to the activity service."""

    token: str
    expires_at: datetime
    url: str


class ShopSettings(_Read):
    """The notifier's settings the shop owner edits."""

    sender_name: str | None = None
    sender_address: str | None = None
    recovery_enabled: bool = False


class AlertSettings(_Read):
    """How the owner hears about entries that need attention (the notifier keeps them).

    The webhook secret is never read back: only its hint (`whsec_…wxyz`).
    """

    enabled: bool = False
    email: str | None = None
    digest_minutes: int = 15
    quiet_start: str | None = None
    quiet_end: str | None = None
    timezone: str = "UTC"
    webhook_url: str | None = None
    webhook_secret_hint: str | None = None


_ISO_CODE = re.compile(r"[A-Za-z]{3}")


def money(amount: int | None, currency: str | None) -> str:
    """'£43.00', 'KWD1.234' (babel, the currency's own decimals), or '' when unknown."""
    if amount is None or not currency:
        return ""
    if not _ISO_CODE.fullmatch(currency):
        return f"{amount} {currency}"  # not a currency babel knows: say what we were given
    return format_money(amount, currency)
