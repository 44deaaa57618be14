"""The order read model: what each order event changes about its order."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shoptrail.activity.domain.entries import LogEntry

STATUS_BY_TYPE = {
    "order.created": "paid",
    "order.submission_failed": "submission_failed",
    "order.submitted": "submitted",
    "order.production": "in_production",
    "order.shipped": "shipped",
    "order.delivered": "delivered",
    "order.cancelled": "cancelled",
}


@dataclass(frozen=True)
class OrderChange:
    """An upsert into the read model. `None` fields leave the stored value alone."""

    order_id: str
    at: datetime
    status: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    refunded: int = 0


def order_change(entry: LogEntry) -> OrderChange | None:
    """The read-model change an entry implies, if any."""
    if entry.order_id is None:
        return None
    p = entry.payload
    if entry.event_type == "order.created":
        total = p.get("total") or {}
        return OrderChange(
            entry.order_id,
            entry.occurred_at,
            "paid",
            {
                "order_number": p.get("order_number"),
                "customer_email": p.get("customer_email"),
                "total_amount": total.get("amount"),
                "currency": total.get("currency"),
                "line_items": p.get("line_items", []),
                "shipping_address": p.get("shipping_address"),
                "provider": p.get("fulfilment_provider"),
                "created_at": entry.occurred_at,
            },
        )
    if entry.event_type == "order.refunded":
        amount = int((p.get("amount") or {}).get("amount", 0))
        status = "refunded" if p.get("full") else None
        return OrderChange(entry.order_id, entry.occurred_at, status, refunded=amount)
    status = STATUS_BY_TYPE.get(entry.event_type)
    if status is None:
        return None
    details: dict[str, Any] = {"provider": p.get("provider")}
    if entry.event_type == "order.submitted":
        details["provider_order_id"] = p.get("provider_order_id")
    if entry.event_type == "order.shipped":
        details |= {k: p.get(k) for k in ("carrier", "tracking_number", "tracking_url")}
    return OrderChange(entry.order_id, entry.occurred_at, status, details)


def merge_changes(changes: list[OrderChange]) -> list[OrderChange]:
    """Fold a batch's changes per order, as if applied one after another.

    The newest status wins (ties: the later one), later details override
    earlier ones, refunds add up. One row per order lets the batch be written
    with one set-based upsert.
    """
    merged: dict[str, OrderChange] = {}
    for change in changes:
        prior = merged.get(change.order_id)
        if prior is None:
            merged[change.order_id] = change
            continue
        status, at = prior.status, prior.at
        if change.status is not None and (status is None or change.at >= at):
            status, at = change.status, change.at
        elif status is None:
            at = max(at, change.at)
        details = prior.details | {k: v for k, v in change.details.items() if v is not None}
        merged[change.order_id] = OrderChange(
            change.order_id, at, status, details, prior.refunded + change.refunded
        )
    return list(merged.values())
