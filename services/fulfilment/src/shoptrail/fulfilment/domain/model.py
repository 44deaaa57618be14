"""An order's fulfilment status, and what the providers tell us about orders and products."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

ProviderName = Literal["Printify", "Printful"]
PROVIDERS: tuple[ProviderName, ...] = ("Printify", "Printful")


class OrderStatus(StrEnum):
    """Where an order is between payment and delivery."""

    RECEIVED = "received"  # stored; no submission attempt yet
    SUBMITTING = "submitting"  # an attempt started; a retry may follow
    FAILED = "failed"  # submission gave up; the shop owner may retry it
    SUBMITTED = "submitted"
    IN_PRODUCTION = "in_production"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"  # refunded before it reached the provider: never submitted


AWAITING_SUBMISSION = frozenset({OrderStatus.RECEIVED, OrderStatus.SUBMITTING})
AT_PROVIDER = frozenset({OrderStatus.SUBMITTED, OrderStatus.IN_PRODUCTION, OrderStatus.SHIPPED})
"""In flight at the provider: these are polled for status."""
NOT_YET_SUBMITTED = AWAITING_SUBMISSION | {OrderStatus.FAILED}

_PROGRESS = {
    OrderStatus.SUBMITTED: 1,
    OrderStatus.IN_PRODUCTION: 2,
    OrderStatus.SHIPPED: 3,
    OrderStatus.DELIVERED: 4,
}
TRACKED = frozenset({*_PROGRESS} - {OrderStatus.SUBMITTED} | {OrderStatus.CANCELLED})
"""Statuses a provider can report, each announced by an event when it is a real change."""


def changes_from(new: OrderStatus) -> frozenset[OrderStatus]:
    """The statuses from which moving to `new` is a real change (forward only, never twice)."""
    if new is OrderStatus.CANCELLED:
        return NOT_YET_SUBMITTED | AT_PROVIDER
    rank = _PROGRESS[new]
    return frozenset(status for status, r in _PROGRESS.items() if r < rank)


def is_real_change(current: OrderStatus, new: OrderStatus) -> bool:
    """True when a provider reporting `new` for an order in `current` is news."""
    return current in changes_from(new)


_REPORTED = {
    "sending_to_production": OrderStatus.IN_PRODUCTION,
    "in_production": OrderStatus.IN_PRODUCTION,
    "inprocess": OrderStatus.IN_PRODUCTION,
    "production": OrderStatus.IN_PRODUCTION,
    "shipped": OrderStatus.SHIPPED,
    "fulfilled": OrderStatus.SHIPPED,
    "package_shipped": OrderStatus.SHIPPED,
    "delivered": OrderStatus.DELIVERED,
    "shipment_delivered": OrderStatus.DELIVERED,
    "canceled": OrderStatus.CANCELLED,
    "cancelled": OrderStatus.CANCELLED,
    "order_canceled": OrderStatus.CANCELLED,
}


def parse_reported_status(raw: str) -> OrderStatus | None:
    """Map a provider's status word ("in-production", "fulfilled") to ours; None if not tracked."""
    return _REPORTED.get(raw.strip().lower().replace("-", "_").replace(" ", "_"))


@dataclass(frozen=True)
class Tracking:
    """How a shipment can be followed."""

    carrier: str | None = None
    number: str | None = None
    url: str | None = None


@dataclass(frozen=True)
class StatusReport:
    """A provider said an order is in `status` (from a webhook or our own poll)."""

    provider: ProviderName
    provider_order_id: str
    status: OrderStatus
    tracking: Tracking = field(default_factory=Tracking)
    reported_at: datetime | None = None
    order_id: str | None = None


@dataclass(frozen=True)
class Order:
    """Fulfilment's record of one order."""

    order_id: str
    order_number: str
    provider: ProviderName
    status: OrderStatus
    details: dict[str, Any]  # line items and shipping address, as sent to the provider
    attempts: int = 0
    attempt_limit: int = 3
    manual_retry: bool = False
    last_error: str | None = None
    provider_order_id: str | None = None
    correlation_id: str | None = None
    waiting_for: str | None = None
    """The key of the operator problem this order waits for (its attempt was given back)."""

    @property
    def attempts_left(self) -> int:
        """How many submission attempts this round still allows."""
        return max(self.attempt_limit - self.attempts, 0)


@dataclass(frozen=True)
class ProviderOrder:
    """An order as the provider holds it."""

    provider_order_id: str
    external_id: str | None
    status: OrderStatus | None  # None: a status we do not track (pending, on hold...)
    tracking: Tracking = field(default_factory=Tracking)


@dataclass(frozen=True)
class Product:
    """A product as the provider lists it; `fingerprint` changes when anything we keep does."""

    provider: ProviderName
    product_id: str
    title: str
    data: dict[str, Any]

    @property
    def fingerprint(self) -> str:
        """A stable digest of the product's content, to tell an update from a no-op."""
        body = json.dumps({"title": self.title, "data": self.data}, sort_keys=True, default=str)
        return hashlib.sha256(body.encode()).hexdigest()


@dataclass(frozen=True)
class SyncCounts:
    """What a product sync changed."""

    total: int
    created: int
    updated: int
    removed: int
