"""How an entry is labelled and which actions it offers."""

from __future__ import annotations

from dataclasses import dataclass

from shoptrail.admin_ui.domain.models import Entry

EVENT_LABELS = {
    "order.created": "Order placed",
    "order.email.confirmation_sent": "Confirmation email",
    "order.submitted": "Submitted",
    "order.submission_failed": "Submission failed",
    "order.submission_retried": "Submission retried",
    "order.production": "In production",
    "order.shipped": "Shipped",
    "order.email.shipping_sent": "Shipping email",
    "order.delivered": "Delivered",
    "order.cancelled": "Cancelled",
    "order.refunded": "Refunded",
    "sync.started": "Sync started",
    "sync.completed": "Sync complete",
    "sync.failed": "Sync failed",
    "abandoned_cart.created": "Abandoned cart",
    "abandoned_cart.email_sent": "Recovery email",
    "abandoned_cart.recovered": "Cart recovered",
    "email.bounced": "Email bounced",
    "job.exhausted": "Job gave up",
    "checkout.expired": "Checkout expired",
    "event.dead_lettered": "Dead-lettered event",
    "system.action_needed": "Action needed",
    "system.action_cleared": "Problem cleared",
    "provider.status_reported": "Provider status",
}

CATEGORY_LABELS = {
    "orders": "Orders",
    "fulfilment": "Fulfilment",
    "emails": "Emails",
    "syncs": "Syncs",
    "carts": "Carts",
    "system": "System",
}

LEVEL_LABELS = {"error": "Errors", "warning": "Warnings", "info": "Info", "debug": "Debug"}

ORDER_STATUS_LABELS = {
    "paid": "Paid",
    "submission_failed": "Submission failed",
    "submitted": "Submitted",
    "in_production": "In production",
    "shipped": "Shipped",
    "delivered": "Delivered",
    "cancelled": "Cancelled",
    "refunded": "Refunded",
}


def event_label(event_type: str) -> str:
    """ "Submission failed" for `order.submission_failed`; unknown types read as themselves."""
    return EVENT_LABELS.get(event_type, event_type)


def how_many(total: int, capped: bool = False) -> str:
    """ "1,000+" for a search counted up to its cap; "1,234", "1" otherwise."""
    return f"{total:,}+" if capped else f"{total:,}"


@dataclass(frozen=True)
class EntryActions:
    """The buttons a feed row shows."""

    resolve: bool = False
    retry_submission: bool = False
    retry_sync_provider: str | None = None

    @property
    def any(self) -> bool:
        return self.resolve or self.retry_submission or self.retry_sync_provider is not None


def actions_for(entry: Entry) -> EntryActions:
    """Resolve/Dismiss while it needs attention; a retry when the failure can be retried."""
    if not entry.needs_attention:
        return EntryActions()
    provider = entry.payload.get("provider")
    return EntryActions(
        resolve=True,
        retry_submission=entry.event_type == "order.submission_failed" and bool(entry.order_id),
        retry_sync_provider=(
            provider
            if entry.event_type == "sync.failed" and provider in ("Printify", "Printful")
            else None
        ),
    )
