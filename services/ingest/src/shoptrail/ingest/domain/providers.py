"""Printify and Printful order webhooks → "provider reported a status" facts.

Ingest does not decide what a status means for the order: it reports what
the provider said, with the provider's time. Fulfilment owns the status.
Shipment events are reported as `shipped` / `delivered` / `returned`; order
events carry the provider's own status word.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from shoptrail.events.ingest import ProviderStatusReported
from shoptrail.ingest.domain.facts import Fact, Ignored, validate_as

PRINTIFY_STATUSES = {
    "order:created": "created",
    "order:sent-to-production": "in_production",
    "order:shipment:created": "shipped",
    "order:shipment:delivered": "delivered",
}
"""Printify event type → status; `order:updated` carries its own status."""

PRINTFUL_STATUSES = {
    "shipment_sent": "shipped",
    "shipment_delivered": "delivered",
    "shipment_returned": "returned",
    "shipment_canceled": "shipment_canceled",
    "order_failed": "failed",
    "order_canceled": "canceled",
    "order_put_hold": "on_hold",
}
"""Printful v2 event type → status; `order_created`, `order_updated` and
`order_remove_hold` carry the order's own status."""

_PRINTFUL_OWN_STATUS = ("order_created", "order_updated", "order_remove_hold")


class _Loose(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


# --- Printify --------------------------------------------------------------


class PrintifyResource(_Loose):
    id: str | int
    type: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)


class PrintifyEvent(_Loose):
    """Printify webhook body: `{id, type, created_at, resource: {id, type, data}}`."""

    id: str = Field(min_length=1)
    type: str = Field(min_length=1)
    created_at: AwareDatetime
    resource: PrintifyResource


def printify_fact(body: dict[str, Any]) -> Fact | Ignored:
    """A Printify order event as a status report; anything else (products, shops) is ignored."""
    event = validate_as(PrintifyEvent, body, "Printify event")
    data = event.resource.data
    if event.type == "order:updated":
        status = _text(data.get("status"))
    else:
        status = PRINTIFY_STATUSES.get(event.type)
    if status is None:
        return Ignored(event.type, f"Printify {event.type!r} is not an order status report")
    carrier = _object(data.get("carrier"))
    report = ProviderStatusReported(
        provider="Printify",
        provider_order_id=str(event.resource.id),
        order_id=_text(data.get("external_id")),
        status=status,
        carrier=_text(carrier.get("code")),
        tracking_number=_text(carrier.get("tracking_number")),
        tracking_url=_text(carrier.get("tracking_url")),
        reported_at=event.created_at.astimezone(UTC),
    )
    return Fact(report, event.created_at, f"printify:{event.id}")


# --- Printful --------------------------------------------------------------


class PrintfulEvent(_Loose):
    """Printful v2 webhook body: `{type, occurred_at, retries, store_id, data}`."""

    type: str = Field(min_length=1)
    occurred_at: AwareDatetime
    store_id: int | str | None = None
    data: dict[str, Any] = Field(default_factory=dict)


def printful_fact(body: dict[str, Any]) -> Fact | Ignored:
    """A Printful order or shipment event as a status report; anything else is ignored.

    Printful v2 events carry no event id, so the fact is identified by what
    stays the same across its retries: store, type, order and `occurred_at`
    (never `retries`, which grows).
    """
    event = validate_as(PrintfulEvent, body, "Printful event")
    order = _object(event.data.get("order"))
    shipment = _object(event.data.get("shipment"))
    if event.type in _PRINTFUL_OWN_STATUS:
        status = _text(order.get("status"))
    else:
        status = PRINTFUL_STATUSES.get(event.type)
    provider_order_id = _text(order.get("id")) or _text(shipment.get("order_id"))
    if status is None or provider_order_id is None:
        return Ignored(event.type, f"Printful {event.type!r} is not an order status report")
    report = ProviderStatusReported(
        provider="Printful",
        provider_order_id=provider_order_id,
        order_id=_text(order.get("external_id")) or _text(shipment.get("order_external_id")),
        status=status,
        carrier=_text(shipment.get("carrier")),
        tracking_number=_text(shipment.get("tracking_number")),
        tracking_url=_text(shipment.get("tracking_url")),
        reported_at=event.occurred_at.astimezone(UTC),
    )
    key = f"printful:{event.store_id}:{event.type}:{provider_order_id}:{_iso(event.occurred_at)}"
    return Fact(report, event.occurred_at, key)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()
