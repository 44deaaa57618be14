"""The parts of Stripe's objects ingest reads, as lenient pydantic models.

Stripe adds fields all the time; everything unknown is ignored and anything
optional in Stripe's API is optional here.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field


def _id_of(value: Any) -> Any:
    """An expandable Stripe field is either an id or the expanded object: keep the id."""
    return value.get("id") if isinstance(value, dict) else value


ExpandableId = Annotated[str | None, BeforeValidator(_id_of)]


class _Stripe(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class StripeEventData(_Stripe):
    object: dict[str, Any]
    previous_attributes: dict[str, Any] | None = None


class StripeEvent(_Stripe):
    """A Stripe `event` as delivered to a webhook endpoint or listed by the API."""

    id: str = Field(min_length=1)
    type: str = Field(min_length=1)
    created: int = Field(ge=0)
    data: StripeEventData


class StripeAddress(_Stripe):
    line1: str | None = None
    line2: str | None = None
    city: str | None = None
    postal_code: str | None = None
    state: str | None = None
    country: str | None = None


class ShippingDetails(_Stripe):
    name: str | None = None
    address: StripeAddress | None = None


class CustomerDetails(_Stripe):
    email: str | None = None
    name: str | None = None


class CollectedInformation(_Stripe):
    shipping_details: ShippingDetails | None = None


class StripeProduct(_Stripe):
    id: str
    name: str | None = None
    url: str | None = None
    metadata: dict[str, str] = {}


class StripePrice(_Stripe):
    id: str | None = None
    unit_amount: int | None = None
    currency: str | None = None
    nickname: str | None = None
    product: StripeProduct | str | None = None


class StripeLineItem(_Stripe):
    id: str | None = None
    description: str | None = None
    quantity: int | None = None
    amount_subtotal: int | None = None
    amount_total: int | None = None
    currency: str | None = None
    price: StripePrice | None = None


class StripeLineItems(_Stripe):
    data: tuple[StripeLineItem, ...] = ()
    has_more: bool = False


class CheckoutSession(_Stripe):
    """A Checkout Session (`checkout.session.*` events)."""

    id: str = Field(min_length=1)
    created: int | None = None
    amount_total: int | None = None
    currency: str | None = None
    customer_email: str | None = None
    customer_details: CustomerDetails | None = None
    shipping_details: ShippingDetails | None = None
    collected_information: CollectedInformation | None = None
    metadata: dict[str, str] | None = None
    payment_intent: ExpandableId = None
    line_items: StripeLineItems | None = None

    @property
    def meta(self) -> dict[str, str]:
        return self.metadata or {}

    @property
    def email(self) -> str | None:
        """What the customer entered at checkout, else what the shop prefilled."""
        entered = self.customer_details.email if self.customer_details else None
        return entered or self.customer_email

    @property
    def shipping(self) -> ShippingDetails | None:
        """Shipping details, from where the API version in use puts them."""
        if self.collected_information and self.collected_information.shipping_details:
            return self.collected_information.shipping_details
        return self.shipping_details


class Charge(_Stripe):
    """A Charge (`charge.refunded` events)."""

    id: str = Field(min_length=1)
    amount: int
    amount_refunded: int
    currency: str = Field(min_length=3, max_length=3)
    refunded: bool = False
    payment_intent: ExpandableId = None
    metadata: dict[str, str] | None = None
