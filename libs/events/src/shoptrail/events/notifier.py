"""Facts the notifier publishes to `shoptrail.notifier`: emails sent, abandoned carts."""

from __future__ import annotations

from typing import ClassVar, Self

from pydantic import Field

from shoptrail.events.base import Category, EventData, Level, OrderFact
from shoptrail.events.common import EXAMPLE_ITEMS, LineItem
from shoptrail.events.hygiene import MAX_ITEMS, Identifier
from shoptrail.events.money import Money
from shoptrail.events.registry import REGISTRY


@REGISTRY.register
class OrderConfirmationSent(OrderFact):
    """The SMTP server accepted the order confirmation email."""

    TYPE: ClassVar[str] = "order.email.confirmation_sent"
    LEVEL: ClassVar[Level] = Level.INFO
    CATEGORY: ClassVar[Category] = Category.EMAILS

    recipient: Identifier
    message_id: Identifier | None = None

    def render(self) -> str:
        return f"Order confirmation sent to {self.recipient}"

    @classmethod
    def example(cls) -> Self:
        return cls(order_id="ord_01J9Z8K4", recipient="customer@example.com")


@REGISTRY.register
class ShippingNotificationSent(OrderFact):
    """The SMTP server accepted the shipping notification email."""

    TYPE: ClassVar[str] = "order.email.shipping_sent"
    LEVEL: ClassVar[Level] = Level.INFO
    CATEGORY: ClassVar[Category] = Category.EMAILS

    recipient: Identifier
    message_id: Identifier | None = None

    def render(self) -> str:
        return f"Shipping notification sent to {self.recipient}"

    @classmethod
    def example(cls) -> Self:
        return cls(order_id="ord_01J9Z8K4", recipient="customer@example.com")


@REGISTRY.register
class AbandonedCartCreated(EventData):
    """A checkout expired with an email entered, and recovery is on: a cart is recorded."""

    TYPE: ClassVar[str] = "abandoned_cart.created"
    LEVEL: ClassVar[Level] = Level.INFO
    CATEGORY: ClassVar[Category] = Category.CARTS
    KEY: ClassVar[tuple[str, ...]] = ("cart_id",)

    cart_id: Identifier
    customer_email: Identifier
    total: Money
    line_items: tuple[LineItem, ...] = Field(default=(), max_length=MAX_ITEMS)
    checkout_session_id: Identifier | None = None

    def render(self) -> str:
        return f"Abandoned cart — {self.customer_email}, {self.total}"

    @classmethod
    def example(cls) -> Self:
        return cls(
            cart_id="cart_01J9ZA",
            customer_email="customer@example.com",
            total=Money(amount=4300, currency="GBP"),
            line_items=EXAMPLE_ITEMS,
            checkout_session_id="cs_test_expired1",
        )


@REGISTRY.register
class AbandonedCartEmailSent(EventData):
    """The single recovery email for a cart was accepted by the SMTP server."""

    TYPE: ClassVar[str] = "abandoned_cart.email_sent"
    LEVEL: ClassVar[Level] = Level.INFO
    CATEGORY: ClassVar[Category] = Category.CARTS
    KEY: ClassVar[tuple[str, ...]] = ("cart_id",)

    cart_id: Identifier
    recipient: Identifier

    def render(self) -> str:
        return f"Recovery email sent to {self.recipient}"

    @classmethod
    def example(cls) -> Self:
        return cls(cart_id="cart_01J9ZA", recipient="customer@example.com")


@REGISTRY.register
class AbandonedCartRecovered(OrderFact):
    """A customer who got a recovery email went on to place an order."""

    TYPE: ClassVar[str] = "abandoned_cart.recovered"
    LEVEL: ClassVar[Level] = Level.INFO
    CATEGORY: ClassVar[Category] = Category.CARTS
    KEY: ClassVar[tuple[str, ...]] = ("cart_id",)

    cart_id: Identifier
    order_number: Identifier

    def render(self) -> str:
        return f"Cart recovered — order {self.order_number} placed"

    @classmethod
    def example(cls) -> Self:
        return cls(cart_id="cart_01J9ZA", order_id="ord_01J9Z8K4", order_number="SS-260223-0042")
