"""When an abandoned cart may get its one recovery email."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

PAID_ORDER_LOOKBACK = timedelta(hours=24)
"""Stripe checkouts live 24 hours: a paid order this long before the expiry may be the same
purchase made in a newer checkout, so it cancels recovery too."""

MAX_LATENESS = timedelta(hours=24)
"""A recovery email more than this late (the service was down, or events were replayed)
is no longer a helpful reminder; it is skipped."""


class SkipReason(StrEnum):
    """Why a due cart gets no email."""

    RECOVERY_OFF = "recovery_off"
    SUPPRESSED = "suppressed"
    PAID = "paid"
    TOO_LATE = "too_late"


def recovery_due_at(abandoned_at: datetime, delay: timedelta) -> datetime:
    """When the single recovery email for a cart abandoned at `abandoned_at` is due."""
    return abandoned_at + delay


def paid_orders_count_since(abandoned_at: datetime) -> datetime:
    """Paid orders placed at or after this time cancel the recovery email."""
    return abandoned_at - PAID_ORDER_LOOKBACK


def skip_reason(
    *,
    recovery_enabled: bool,
    suppressed: bool,
    paid_since: bool,
    due_at: datetime,
    now: datetime,
) -> SkipReason | None:
    """The check made again just before sending; None means: send it."""
    if not recovery_enabled:
        return SkipReason.RECOVERY_OFF
    if suppressed:
        return SkipReason.SUPPRESSED
    if paid_since:
        return SkipReason.PAID
    if now - due_at > MAX_LATENESS:
        return SkipReason.TOO_LATE
    return None
