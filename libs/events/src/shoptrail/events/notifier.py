"""Facts the notifier publishes to `shoptrail.notifier`: emails sent, abandoned carts."""

from __future__ import annotations

from typing import ClassVar, Self

from pydantic import Field

from shoptrail.events.base import Category, EventData, Level, OrderFact
from shoptrail.events.common import EXAMPLE_ITEMS, LineItem
from shoptrail.events.hygiene import MAX_ITEMS, FreeText, Identifier
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


@REGISTRY.register
class AlertSent(EventData):
    """The owner was told about entries that need attention (an email, a webhook post).

    Alert events never trigger alerts themselves: the alerts consumer skips
    every `alert.*` type, so alerting cannot loop.
    """

    TYPE: ClassVar[str] = "alert.sent"
    LEVEL: ClassVar[Level] = Level.INFO
    CATEGORY: ClassVar[Category] = Category.SYSTEM
    KEY: ClassVar[tuple[str, ...]] = ("alert_id",)

    alert_id: Identifier
    channel: Identifier = Field(description="`email` or `webhook`.")
    items: int = Field(ge=0, description="How many entries the alert lists.")
    digest: bool = Field(default=False, description="A digest of several entries.")

    def render(self) -> str:
        noun = "entry" if self.items == 1 else "entries"
        kind = "Digest" if self.digest else "Alert"
        return f"{kind} sent by {self.channel} about {self.items} {noun} needing attention"

    @classmethod
    def example(cls) -> Self:
        return cls(alert_id="alr_01J9ZB", channel="email", items=3, digest=True)


@REGISTRY.register
class AlertFailed(EventData):
    """An alert could not be delivered; said once per failed alert, never alerted about."""

    TYPE: ClassVar[str] = "alert.failed"
    LEVEL: ClassVar[Level] = Level.ERROR
    CATEGORY: ClassVar[Category] = Category.SYSTEM
    KEY: ClassVar[tuple[str, ...]] = ("alert_id",)

    alert_id: Identifier
    channel: Identifier = Field(description="`email` or `webhook`.")
    items: int = Field(ge=0)
    reason: FreeText = Field(description="What went wrong, as the other side said it.")

    def render(self) -> str:
        return f"Alert by {self.channel} could not be sent ({self.reason[:200]})"

    @classmethod
    def example(cls) -> Self:
        return cls(alert_id="alr_01J9ZB", channel="email", items=1, reason="connection refused")
