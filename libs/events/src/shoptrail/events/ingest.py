"""Facts ingest publishes to `shoptrail.ingest`, translated from verified webhooks."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import ClassVar, Literal, Self

from pydantic import Field

from shoptrail.events.base import Category, EventData, Level, OrderFact
from shoptrail.events.common import EXAMPLE_ADDRESS, EXAMPLE_ITEMS, Address, LineItem
from shoptrail.events.hygiene import MAX_ITEMS, FreeText, Identifier
from shoptrail.events.money import Money
from shoptrail.events.registry import REGISTRY

Provider = Literal["Printify", "Printful"]
EmailKind = Literal["order_confirmation", "shipping_notification", "cart_recovery", "other"]


@REGISTRY.register
class OrderCreated(OrderFact):
    """A customer paid at Stripe checkout: the order snapshot."""

    TYPE: ClassVar[str] = "order.created"
    LEVEL: ClassVar[Level] = Level.INFO
    CATEGORY: ClassVar[Category] = Category.ORDERS

    order_number: Identifier
    customer_email: Identifier
    total: Money
    payment_method: str = "Stripe"
    line_items: tuple[LineItem, ...] = Field(default=(), max_length=MAX_ITEMS)
    shipping_address: Address | None = None
    checkout_session_id: Identifier | None = None
    fulfilment_provider: Provider = "Printify"

    def render(self) -> str:
        return f"Order placed — {self.total} via {self.payment_method}"

    @classmethod
    def example(cls) -> Self:
        return cls(
            order_id="ord_01J9Z8K4",
            order_number="SS-260223-0042",
            customer_email="customer@example.com",
            total=Money(amount=4300, currency="GBP"),
            line_items=EXAMPLE_ITEMS,
            shipping_address=EXAMPLE_ADDRESS,
            checkout_session_id="cs_test_a1b2c3",
        )


@REGISTRY.register
class OrderRefunded(OrderFact):
    """Stripe refunded all or part of an order's charge."""

    TYPE: ClassVar[str] = "order.refunded"
    LEVEL: ClassVar[Level] = Level.INFO
    CATEGORY: ClassVar[Category] = Category.ORDERS

    amount: Money
    full: bool
    charge_id: str | None = None

    def render(self) -> str:
        return f"Refunded {self.amount}" + ("" if self.full else " (partial)")

    @classmethod
    def example(cls) -> Self:
        return cls(
            order_id="ord_01J9Z8K4",
            amount=Money(amount=4300, currency="GBP"),
            full=True,
            charge_id="ch_3PqR",
        )


@REGISTRY.register
class CheckoutExpired(EventData):
    """Internal fact: a Stripe checkout expired unpaid. The notifier decides about recovery."""

    TYPE: ClassVar[str] = "checkout.expired"
    LEVEL: ClassVar[Level] = Level.DEBUG
    CATEGORY: ClassVar[Category] = Category.CARTS
    KEY: ClassVar[tuple[str, ...]] = ("checkout_session_id",)

    checkout_session_id: Identifier
    customer_email: Identifier | None = None
    line_items: tuple[LineItem, ...] = Field(default=(), max_length=MAX_ITEMS)
    total: Money | None = None

    def render(self) -> str:
        who = self.customer_email or "no email entered"
        return f"Checkout expired ({who})"

    @classmethod
    def example(cls) -> Self:
        return cls(
            checkout_session_id="cs_test_expired1",
            customer_email="customer@example.com",
            line_items=EXAMPLE_ITEMS,
            total=Money(amount=4300, currency="GBP"),
        )


@REGISTRY.register
class ProviderStatusReported(EventData):
    """Internal fact: a provider reported an order's status. Fulfilment decides what changed."""

    TYPE: ClassVar[str] = "provider.status_reported"
    LEVEL: ClassVar[Level] = Level.DEBUG
    CATEGORY: ClassVar[Category] = Category.FULFILMENT
    KEY: ClassVar[tuple[str, ...]] = ("order_id", "provider_order_id")

    provider: Provider
    provider_order_id: Identifier
    order_id: Identifier | None = None
    status: str
    carrier: str | None = None
    tracking_number: str | None = None
    tracking_url: str | None = None
    reported_at: datetime

    def subject(self) -> str | None:
        return self.order_id

    def render(self) -> str:
        return f"{self.provider} reported status “{self.status}” for {self.provider_order_id}"

    @classmethod
    def example(cls) -> Self:
        return cls(
            provider="Printify",
            provider_order_id="PFY-12345",
            order_id="ord_01J9Z8K4",
            status="shipped",
            carrier="DHL",
            tracking_number="1Z999AA10123456784",
            tracking_url="https://track.example.com/1Z999AA10123456784",
            reported_at=datetime(2026, 2, 16, 14, 23, tzinfo=UTC),
        )


@REGISTRY.register
class EmailBounced(EventData):
    """The email provider could not deliver one of our emails."""

    TYPE: ClassVar[str] = "email.bounced"
    LEVEL: ClassVar[Level] = Level.WARNING
    CATEGORY: ClassVar[Category] = Category.EMAILS
    KEY: ClassVar[tuple[str, ...]] = ("order_id",)

    recipient: Identifier
    email_kind: EmailKind = "other"
    order_id: Identifier | None = None
    reason: FreeText | None = None
    permanent: bool = Field(default=True, description="Hard bounce: do not send again.")

    def subject(self) -> str | None:
        return self.order_id

    def render(self) -> str:
        return f"Email bounced: {self.recipient} ({self.email_kind.replace('_', ' ')})"

    @classmethod
    def example(cls) -> Self:
        return cls(
            recipient="customer@example.com",
            email_kind="order_confirmation",
            order_id="ord_01J9Z8K4",
            reason="550 5.1.1 mailbox unavailable",
        )
