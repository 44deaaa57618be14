"""What the outside world sends Shoptrail: webhook bodies and their signatures.

Written from each sender's documented scheme (see services/ingest/README.md),
not from ingest's code, so the demo is also an independent check that ingest
accepts what Stripe, Printify, Printful and the email provider really send.

Stripe's webhooks carry what Stripe really puts in them: a Checkout Session
without `line_items` (Stripe only lists them through its API) and a refunded
charge without the shop's metadata, so ingest asks Stripe's API for both.
Whoever sends them first tells that API about the checkout
(`stripe_checkout`, the body `PUT /_fake/checkouts/{session_id}` of the fake
Stripe API wants), as the shop's checkout page created it at Stripe.
`embedded=True` puts both back into the webhook, for suites that measure
ingest's own door rather than the Stripe API path (tests/faults).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

ProviderName = Literal["Printify", "Printful"]
Status = Literal["in_production", "shipped", "delivered", "cancelled"]


@dataclass(frozen=True)
class Item:
    product_id: str
    name: str
    unit_amount: int  # minor units
    variant: str | None = None
    quantity: int = 1


@dataclass(frozen=True)
class Customer:
    name: str
    email: str
    line1: str
    city: str
    postal_code: str
    country: str = "GB"


@dataclass(frozen=True)
class Checkout:
    """One Stripe Checkout Session the shop created, with the shop's own order identity."""

    customer: Customer | None
    items: tuple[Item, ...]
    provider: ProviderName = "Printify"
    currency: str = "gbp"
    session_id: str = field(default_factory=lambda: f"cs_test_{secrets.token_hex(12)}")
    order_id: str = field(default_factory=lambda: f"ord_demo_{secrets.token_hex(6)}")
    order_number: str = field(
        default_factory=lambda: f"SS-{datetime.now(UTC):%y%m%d}-{secrets.token_hex(2).upper()}"
    )
    payment_intent: str = field(default_factory=lambda: f"pi_{secrets.token_hex(12)}")
    charge_id: str = field(default_factory=lambda: f"ch_{secrets.token_hex(12)}")

    @property
    def total(self) -> int:
        return sum(item.unit_amount * item.quantity for item in self.items)


def _event_id() -> str:
    return f"evt_{secrets.token_hex(12)}"


# --- Stripe -----------------------------------------------------------------


def _line_items(checkout: Checkout) -> dict[str, Any]:
    return {
        "object": "list",
        "has_more": False,
        "data": [
            {
                "id": f"li_{secrets.token_hex(8)}",
                "object": "item",
                "description": item.name,
                "quantity": item.quantity,
                "amount_subtotal": item.unit_amount * item.quantity,
                "amount_total": item.unit_amount * item.quantity,
                "currency": checkout.currency,
                "price": {
                    "id": f"price_{item.product_id}",
                    "unit_amount": item.unit_amount,
                    "currency": checkout.currency,
                    "nickname": item.variant,
                    "product": {
                        "id": f"prod_{item.product_id}",
                        "name": item.name,
                        "metadata": {"product_id": item.product_id, "variant": item.variant or ""},
                    },
                },
            }
            for item in checkout.items
        ],
    }


def _session(checkout: Checkout, status: str, *, embedded: bool) -> dict[str, Any]:
    customer = checkout.customer
    session: dict[str, Any] = {
        "id": checkout.session_id,
        "object": "checkout.session",
        "created": int(time.time()) - 120,
        "status": status,
        "amount_total": checkout.total,
        "currency": checkout.currency,
        "customer_details": (
            {"email": customer.email, "name": customer.name} if customer else None
        ),
        "metadata": {
            "order_id": checkout.order_id,
            "order_number": checkout.order_number,
            "fulfilment_provider": checkout.provider.lower(),
        },
    }
    if embedded:
        session["line_items"] = _line_items(checkout)
    if status == "complete" and customer:
        session["payment_status"] = "paid"
        session["payment_intent"] = checkout.payment_intent
        session["collected_information"] = {
            "shipping_details": {
                "name": customer.name,
                "address": {
                    "line1": customer.line1,
                    "city": customer.city,
                    "postal_code": customer.postal_code,
                    "country": customer.country,
                },
            }
        }
    return session


def stripe_event(event_type: str, obj: dict[str, Any], **data: Any) -> dict[str, Any]:
    return {
        "id": _event_id(),
        "object": "event",
        "api_version": "2025-03-31.basil",
        "created": int(time.time()),
        "livemode": False,
        "type": event_type,
        "data": {"object": obj, **data},
    }


def checkout_completed(checkout: Checkout, *, embedded: bool = False) -> dict[str, Any]:
    return stripe_event(
        "checkout.session.completed", _session(checkout, "complete", embedded=embedded)
    )


def checkout_expired(checkout: Checkout, *, embedded: bool = False) -> dict[str, Any]:
    return stripe_event(
        "checkout.session.expired", _session(checkout, "expired", embedded=embedded)
    )


def charge_refunded(
    checkout: Checkout, *, amount: int, refunded_before: int = 0, embedded: bool = False
) -> dict[str, Any]:
    """A refund of `amount` on the order's charge (cumulative, as Stripe reports it)."""
    after = refunded_before + amount
    charge = {
        "id": checkout.charge_id,
        "object": "charge",
        "amount": checkout.total,
        "amount_refunded": after,
        "currency": checkout.currency,
        "refunded": after >= checkout.total,
        "payment_intent": checkout.payment_intent,
        "metadata": {"order_id": checkout.order_id} if embedded else {},
    }
    return stripe_event(
        "charge.refunded", charge, previous_attributes={"amount_refunded": refunded_before}
    )


def stripe_checkout(checkout: Checkout) -> dict[str, Any]:
    """The checkout as Stripe holds it, for the fake Stripe API (`PUT /_fake/checkouts/{id}`)."""
    customer = checkout.customer
    return {
        "payment_intent": checkout.payment_intent,
        "currency": checkout.currency,
        "customer_email": customer.email if customer else None,
        "customer_name": customer.name if customer else None,
        "metadata": {
            "order_id": checkout.order_id,
            "order_number": checkout.order_number,
            "fulfilment_provider": checkout.provider.lower(),
        },
        "items": [
            {
                "product_id": item.product_id,
                "name": item.name,
                "unit_amount": item.unit_amount,
                "quantity": item.quantity,
                "variant": item.variant,
            }
            for item in checkout.items
        ],
    }


def stripe_signature(body: bytes, secret: str, *, timestamp: int | None = None) -> str:
    """`Stripe-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`."""
    t = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={digest}"


# --- Printify and Printful ------------------------------------------------------


def _now_iso() -> str:
    return datetime.now(UTC).isoformat()


PRINTIFY_TYPES: dict[Status, str] = {
    "in_production": "order:sent-to-production",
    "shipped": "order:shipment:created",
    "delivered": "order:shipment:delivered",
    "cancelled": "order:updated",
}


def printify_event(
    status: Status, *, provider_order_id: str, order_id: str, carrier: str | None = None,
    tracking_number: str | None = None, tracking_url: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    """A Printify order webhook (`{id, type, created_at, resource}`)."""
    data: dict[str, Any] = {"external_id": order_id, "shop_id": 4242}
    if status == "cancelled":
        data["status"] = "canceled"
    if carrier:
        data["carrier"] = {
            "code": carrier,
            "tracking_number": tracking_number,
            "tracking_url": tracking_url,
        }
    return {
        "id": secrets.token_hex(12),
        "type": PRINTIFY_TYPES[status],
        "created_at": _now_iso(),
        "resource": {"id": provider_order_id, "type": "order", "data": data},
    }


def printify_signature(body: bytes, secret: str) -> str:
    """`X-Pfy-Signature: sha256=<hex HMAC-SHA256 of the raw body>`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def printful_event(
    status: Status, *, provider_order_id: str, order_id: str, carrier: str | None = None,
    tracking_number: str | None = None, tracking_url: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    """A Printful webhook v2 body (`{type, occurred_at, retries, store_id, data}`)."""
    order = {"id": int(provider_order_id), "external_id": order_id}
    data: dict[str, Any] = {"order": order}
    if status == "in_production":
        event_type, order["status"] = "order_updated", "inprocess"
    elif status == "cancelled":
        event_type = "order_canceled"
    else:
        event_type = "shipment_sent" if status == "shipped" else "shipment_delivered"
        data["shipment"] = {
            "order_id": int(provider_order_id),
            "carrier": carrier,
            "tracking_number": tracking_number,
            "tracking_url": tracking_url,
        }
    return {
        "type": event_type,
        "occurred_at": _now_iso(),
        "retries": 0,
        "store_id": 4242,
        "data": data,
    }


def printful_signature(body: bytes, secret_key: str) -> str:
    """`x-pf-webhook-signature`: hex HMAC-SHA256, keyed with the hex-decoded `secret_key`."""
    try:
        key = bytes.fromhex(secret_key)
    except ValueError:
        key = secret_key.encode()  # a non-hex dev secret is used as it is
    return hmac.new(key, body, hashlib.sha256).hexdigest()


# --- the email provider ---------------------------------------------------------


def email_bounce(
    recipient: str, *, order_id: str | None, email_kind: str, reason: str
) -> dict[str, Any]:
    """A Resend-style `email.bounced` event, tagged as the notifier tags its emails."""
    tags = {"email_kind": email_kind}
    if order_id:
        tags["order_id"] = order_id
    return {
        "type": "email.bounced",
        "created_at": _now_iso(),
        "data": {
            "email_id": secrets.token_hex(8),
            "to": [recipient],
            "subject": "Your order",
            "bounce": {"type": "Permanent", "subType": "General", "message": reason},
            "tags": tags,
        },
    }


def standard_webhook_headers(body: bytes, secret: str) -> dict[str, str]:
    """Standard Webhooks: `webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<b64>`."""
    message_id = f"msg_{secrets.token_hex(10)}"
    timestamp = int(time.time())
    raw = secret.removeprefix("whsec_")
    try:
        key = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        key = raw.encode()  # a non-base64 dev secret is used as it is
    signed = f"{message_id}.{timestamp}.".encode() + body
    signature = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": f"v1,{signature}",
    }


def encode(body: dict[str, Any]) -> bytes:
    """The exact bytes sent (and signed)."""
    return json.dumps(body, separators=(",", ":")).encode()
