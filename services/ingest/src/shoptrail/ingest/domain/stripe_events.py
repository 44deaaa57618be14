"""Stripe events → Shoptrail facts.

Order identity
--------------
The shop's checkout creates each Checkout Session with `metadata.order_id`
and `metadata.order_number`; when present they are used as they are. A session
created without them (a payment link, a test from the Stripe dashboard) still
becomes an order: its id is `ord_` + 16 base32 characters of SHA-256 of the
session id, and its number `SS-<yymmdd of the session>-` + 6 of those
characters. Both are derived only from the session, so every delivery, the
reconcile command and a later refund all arrive at the same order id.

A refund (`charge.refunded`) names a charge, not a session. Its order id is
the charge's `metadata.order_id` when the shop put one there; otherwise ingest
looks up the Checkout Session by the charge's payment intent (Stripe API) and
derives the order id from that session exactly as above.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from typing import Any

from shoptrail.events.common import Address, LineItem
from shoptrail.events.hygiene import MAX_ID, REPLACEMENT
from shoptrail.events.ingest import CheckoutExpired, OrderCreated, OrderRefunded, Provider
from shoptrail.events.money import Money
from shoptrail.ingest.domain.errors import InvalidPayloadError
from shoptrail.ingest.domain.facts import Fact, from_unix, validate_as
from shoptrail.ingest.domain.stripe_amounts import minor_units_from_stripe
from shoptrail.ingest.domain.stripe_objects import (
    Charge,
    CheckoutSession,
    StripeEvent,
    StripeLineItem,
    StripeProduct,
)

CHECKOUT_COMPLETED = "checkout.session.completed"
CHECKOUT_EXPIRED = "checkout.session.expired"
CHARGE_REFUNDED = "charge.refunded"
HANDLED_TYPES = (CHECKOUT_COMPLETED, CHECKOUT_EXPIRED, CHARGE_REFUNDED)


def _digest(session_id: str) -> str:
    return base64.b32encode(hashlib.sha256(session_id.encode()).digest()).decode()


def _usable_id(value: str | None) -> str | None:
    """A metadata value fit to be an id: present, within the contract's bound, nothing replaced."""
    if not value or len(value) > MAX_ID or REPLACEMENT in value:
        return None
    return value


def order_id_for(session: CheckoutSession) -> str:
    """The shop's order id for a session: `metadata.order_id`, else derived from the session id."""
    return _usable_id(session.meta.get("order_id")) or f"ord_{_digest(session.id)[:16]}"


def order_number_for(session: CheckoutSession) -> str:
    """The customer-facing order number: `metadata.order_number`, else derived from the session."""
    if number := _usable_id(session.meta.get("order_number")):
        return number
    day = from_unix(session.created).strftime("%y%m%d") if session.created else "000000"
    return f"SS-{day}-{_digest(session.id)[:6]}"


def fact_for(event: StripeEvent, data: Any) -> Fact:
    """Wrap translated data: time = Stripe's `created`, identity = Stripe's event id."""
    return Fact(data=data, occurred_at=from_unix(event.created), source_key=f"stripe:{event.id}")


def parse_event(body: dict[str, Any]) -> StripeEvent:
    """Read a Stripe event object (a webhook body or an entry of the List Events API)."""
    return validate_as(StripeEvent, body, "Stripe event")


def session_of(event: StripeEvent) -> CheckoutSession:
    """The Checkout Session a `checkout.session.*` event is about."""
    return validate_as(CheckoutSession, event.data.object, "checkout session")


def charge_of(event: StripeEvent) -> Charge:
    """The Charge a `charge.*` event is about."""
    return validate_as(Charge, event.data.object, "charge")


def _currency(value: str | None, what: str) -> str:
    if not value or len(value) != 3:
        raise InvalidPayloadError("invalid_payload", f"{what} has no currency")
    return value.upper()


def _money(stripe_amount: int, currency: str) -> Money:
    """Stripe's integer amount as Money in the currency's true minor units (ISK 500 → 5)."""
    return Money(amount=minor_units_from_stripe(stripe_amount, currency), currency=currency)


def _product(item: StripeLineItem) -> StripeProduct | None:
    product = item.price.product if item.price else None
    return product if isinstance(product, StripeProduct) else None


def line_item(item: StripeLineItem, fallback_currency: str | None) -> LineItem:
    """One Stripe line item as a Shoptrail line item.

    The product id is the Stripe product's `metadata.product_id` (the shop's
    own id) when the product was expanded and carries one, else Stripe's id.
    """
    price = item.price
    product = _product(item)
    quantity = max(item.quantity or 1, 1)
    if price and price.unit_amount is not None:
        unit_amount = price.unit_amount
    else:
        unit_amount = (item.amount_subtotal or item.amount_total or 0) // quantity
    product_ref = price.product if price else None
    stripe_product_id = (
        product.id if product else product_ref if isinstance(product_ref, str) else None
    )
    product_id = (
        (product.metadata.get("product_id") if product else None)
        or stripe_product_id
        or (price.id if price else None)
        or item.id
        or "unknown"
    )
    return LineItem(
        product_id=product_id,
        name=item.description or (product.name if product else None) or product_id,
        quantity=quantity,
        unit_price=_money(
            unit_amount,
            _currency(
                (price.currency if price else None) or item.currency or fallback_currency,
                "line item",
            ),
        ),
        variant=(product.metadata.get("variant") if product else None)
        or (price.nickname if price else None),
        product_url=product.url if product else None,
    )


def line_items(items: Sequence[StripeLineItem], currency: str | None) -> tuple[LineItem, ...]:
    """Stripe line items as Shoptrail line items."""
    return tuple(line_item(item, currency) for item in items)


def shipping_address(session: CheckoutSession) -> Address | None:
    """The shipping address the customer entered, if it is complete enough to ship to."""
    details = session.shipping
    address = details.address if details else None
    if not address or not (address.line1 and address.city and address.country):
        return None
    return Address(
        name=(details.name if details else None)
        or (session.customer_details.name if session.customer_details else None)
        or "",
        line1=address.line1,
        line2=address.line2 or None,
        city=address.city,
        postal_code=address.postal_code or "",
        state=address.state or None,
        country=address.country.upper(),
    )


def _provider(session: CheckoutSession) -> Provider:
    return (
        "Printful"
        if session.meta.get("fulfilment_provider", "").lower() == "printful"
        else "Printify"
    )


def order_created(session: CheckoutSession, items: Sequence[StripeLineItem]) -> OrderCreated:
    """`checkout.session.completed` → `order.created` with the order snapshot."""
    if not session.email:
        raise InvalidPayloadError("invalid_payload", "the completed checkout has no customer email")
    if session.amount_total is None:
        raise InvalidPayloadError("invalid_payload", "the completed checkout has no amount_total")
    currency = _currency(session.currency, "the checkout")
    return OrderCreated(
        order_id=order_id_for(session),
        order_number=order_number_for(session),
        customer_email=session.email,
        total=_money(session.amount_total, currency),
        line_items=line_items(items, currency),
        shipping_address=shipping_address(session),
        checkout_session_id=session.id,
        fulfilment_provider=_provider(session),
    )


def checkout_expired(session: CheckoutSession, items: Sequence[StripeLineItem]) -> CheckoutExpired:
    """`checkout.session.expired` → the internal "checkout expired" fact with the cart."""
    total = None
    if session.amount_total is not None and session.currency:
        total = _money(session.amount_total, _currency(session.currency, "cart"))
    return CheckoutExpired(
        checkout_session_id=session.id,
        customer_email=session.email,
        line_items=line_items(items, session.currency),
        total=total,
    )


def refunded_amount(charge: Charge, previous_attributes: dict[str, Any] | None) -> int:
    """What this refund returned: the rise in `amount_refunded` since the previous state.

    Stripe's `amount_refunded` is cumulative; `previous_attributes` holds the
    value before this refund. Without it, the cumulative amount is the best
    answer (the first refund of a charge).
    """
    before = (previous_attributes or {}).get("amount_refunded")
    if isinstance(before, int) and 0 <= before <= charge.amount_refunded:
        return charge.amount_refunded - before
    return charge.amount_refunded


def order_refunded(
    charge: Charge, previous_attributes: dict[str, Any] | None, *, order_id: str
) -> OrderRefunded:
    """`charge.refunded` → `order.refunded`; `full` when the whole charge is now refunded."""
    return OrderRefunded(
        order_id=order_id,
        amount=_money(
            refunded_amount(charge, previous_attributes),
            _currency(charge.currency, "the charge"),
        ),
        full=charge.refunded or charge.amount_refunded >= charge.amount,
        charge_id=charge.id,
    )
