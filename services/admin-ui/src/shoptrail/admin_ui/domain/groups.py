"""Grouped failures as the admin shows them: one row per problem, not per occurrence."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from shoptrail.admin_ui.domain.models import Entry


class _Read(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


TYPE_TITLES = {
    "order.submission_failed": "Submission failed",
    "sync.failed": "Product sync failed",
    "email.bounced": "Email bounced",
    "job.exhausted": "Background job gave up",
    "system.dead_lettered": "Message could not be read",
    "system.action_needed": "Action needed",
}


class GroupOrder(_Read):
    order_id: str
    order_number: str | None = None

    @property
    def label(self) -> str:
        """The shop's order number when the order is known, else its id."""
        return self.order_number or self.order_id


class Group(_Read):
    """Occurrences of the same failure (same type, same reason once ids are taken out)."""

    fingerprint: str
    event_type: str
    category: str
    level: str
    title: str
    sample: str
    first_seen: datetime
    last_seen: datetime
    count: int
    open_count: int
    regressions: int
    open: bool
    resolved_at: datetime | None
    orders_affected: int
    order_ids: list[str]

    @property
    def heading(self) -> str:
        """What happened, in the shop's words ("Submission failed")."""
        return TYPE_TITLES.get(self.event_type, self.event_type)

    @property
    def seen(self) -> str:
        return "seen once" if self.count == 1 else f"seen {self.count:,} times"

    @property
    def orders_text(self) -> str:
        n = self.orders_affected
        return "" if n == 0 else ("1 order" if n == 1 else f"{n:,} orders")


class GroupDetail(Group):
    entries: list[Entry]
    orders: list[GroupOrder]
