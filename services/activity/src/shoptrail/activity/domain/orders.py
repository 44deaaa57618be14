"""The order read model: what each order event changes about its order."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shoptrail.activity.domain.entries import LogEntry
from shoptrail.events.fulfilment import (
    OrderCancelled,
    OrderDelivered,
    OrderInProduction,
    OrderShipped,
    OrderSubmissionFailed,
    OrderSubmitted,
)
from shoptrail.events.ingest import OrderCreated, OrderRefunded

STATUS_BY_TYPE: dict[type, str] = {
    OrderSubmissionFailed: "submission_failed",
    OrderSubmitted: "submitted",
    OrderInProduction: "in_production",
    OrderShipped: "shipped",
    OrderDelivered: "delivered",
    OrderCancelled: "cancelled",
}


@dataclass(frozen=True)
class OrderChange:
    """An upsert into the read model. `None` fields leave the stored value alone."""

    order_id: str
    at: datetime
    status: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    refunded: int = 0


def is_snapshot(entry: LogEntry) -> bool:
    """An order.created entry: what the order is (number, customer, total, items, address).

    The store builds the order's row from the logged entry itself, so its contents
    are never carried twice; the order is 'paid' as of the entry's time.
    """
    return entry.order_id is not None and isinstance(entry.data, OrderCreated)


def order_change(entry: LogEntry) -> OrderChange | None:
    """What a later order event changes about its order (status, provider, tracking, refunds)."""
    data = entry.data
    if entry.order_id is None:
        return None
    if isinstance(data, OrderRefunded):
        status = "refunded" if data.full else None
        return OrderChange(entry.order_id, entry.occurred_at, status, refunded=data.amount.amount)
    status = STATUS_BY_TYPE.get(type(data))
    if status is None:
        return None
    details: dict[str, Any] = {"provider": getattr(data, "provider", None)}
    if isinstance(data, OrderSubmitted):
        details["provider_order_id"] = data.provider_order_id
    if isinstance(data, OrderShipped):
        details |= {
            "carrier": data.carrier,
            "tracking_number": data.tracking_number,
            "tracking_url": data.tracking_url,
        }
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
