"""The notifier's own facts: outgoing emails, abandoned carts, the shop's sender identity."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from shoptrail.events.common import LineItem
from shoptrail.events.money import Money


class EmailKind(StrEnum):
    """What an email is for (the same words as `email.bounced`'s `email_kind`)."""

    ORDER_CONFIRMATION = "order_confirmation"
    SHIPPING_NOTIFICATION = "shipping_notification"
    CART_RECOVERY = "cart_recovery"


class EmailStatus(StrEnum):
    """Where one outgoing email is in its life."""

    PENDING = "pending"  # recorded, waiting for (another) send attempt
    SENDING = "sending"  # claimed by a worker; the SMTP outcome is not yet recorded
    SENT = "sent"  # the SMTP server accepted it
    BOUNCED = "bounced"  # the SMTP server refused it for good
    FAILED = "failed"  # temporary failures until the last attempt
    UNKNOWN = "unknown"  # the worker died mid-send; deliberately not resent
    HELD = "held"  # the mail server refuses our set-up; waits for the operator's fix


def normalize_email(address: str) -> str:
    """The form addresses are compared and stored in: trimmed, lower case."""
    return address.strip().lower()


@dataclass(frozen=True)
class Sender:
    """Who the shop's emails come from."""

    name: str
    address: str


@dataclass(frozen=True)
class ShopSettings:
    """The shop owner's choices the notifier keeps; recovery is off until turned on."""

    sender_name: str | None = None
    sender_address: str | None = None
    recovery_enabled: bool = False

    def sender(self) -> Sender | None:
        """The sender identity, or None while the owner has not set both parts."""
        if not self.sender_name or not self.sender_address:
            return None
        return Sender(name=self.sender_name, address=self.sender_address)


@dataclass(frozen=True)
class OutgoingEmail:
    """One email the notifier owes someone, keyed by the fact that caused it."""

    id: UUID
    kind: EmailKind
    context: dict[str, Any]
    recipient: str | None = None
    order_id: str | None = None
    cart_id: str | None = None
    status: EmailStatus = EmailStatus.PENDING
    attempts: int = 0


@dataclass(frozen=True)
class CustomerOrder:
    """What the notifier remembers of a paid order: enough to email about it later."""

    order_id: str
    order_number: str
    email: str
    placed_at: datetime


@dataclass(frozen=True)
class AbandonedCart:
    """A checkout that expired unpaid, with an email entered and recovery on."""

    id: str
    checkout_session_id: str
    email: str
    total: Money
    abandoned_at: datetime
    due_at: datetime
    line_items: tuple[LineItem, ...] = field(default_factory=tuple)
    emailed_at: datetime | None = None
    closed_reason: str | None = None
    recovered_order_id: str | None = None
