"""Facts fulfilment publishes to `shoptrail.fulfilment`: submission, status, product sync."""

from __future__ import annotations

from typing import ClassVar, Self

from pydantic import Field

from shoptrail.events.base import Category, EventData, Level, OrderFact
from shoptrail.events.hygiene import FreeText, Identifier
from shoptrail.events.ingest import Provider
from shoptrail.events.registry import REGISTRY


@REGISTRY.register
class OrderSubmitted(OrderFact):
    """The provider accepted the order."""

    TYPE: ClassVar[str] = "order.submitted"
    LEVEL: ClassVar[Level] = Level.INFO
    CATEGORY: ClassVar[Category] = Category.FULFILMENT

    provider: Provider
    provider_order_id: Identifier

    def render(self) -> str:
        return f"Submitted to {self.provider} ({self.provider_order_id})"

    @classmethod
    def example(cls) -> Self:
        return cls(order_id="ord_01J9Z8K4", provider="Printify", provider_order_id="PFY-12345")


@REGISTRY.register
class OrderSubmissionFailed(OrderFact):
    """One submission attempt failed; the reason is the provider's, in plain words."""

    TYPE: ClassVar[str] = "order.submission_failed"
    LEVEL: ClassVar[Level] = Level.ERROR
    CATEGORY: ClassVar[Category] = Category.FULFILMENT

    provider: Provider
    reason: FreeText
    attempt: int = Field(ge=1)
    max_attempts: int = Field(ge=1)

    def render(self) -> str:
        return f"Submission to {self.provider} failed: {self.reason}"

    @classmethod
    def example(cls) -> Self:
        return cls(
            order_id="ord_01J9Z8K4",
            provider="Printify",
            reason="insufficient stock for M Black",
            attempt=1,
            max_attempts=3,
        )


@REGISTRY.register
class OrderSubmissionRetried(OrderFact):
    """A new submission attempt started after a failure."""

    TYPE: ClassVar[str] = "order.submission_retried"
    LEVEL: ClassVar[Level] = Level.INFO
    CATEGORY: ClassVar[Category] = Category.FULFILMENT

    provider: Provider
    attempt: int = Field(ge=2)
    max_attempts: int = Field(ge=1)
    manual: bool = Field(default=False, description="Started by the shop owner's Retry action.")

    def render(self) -> str:
        return f"Submission retried — attempt {self.attempt} of {self.max_attempts}"

    @classmethod
    def example(cls) -> Self:
        return cls(order_id="ord_01J9Z8K4", provider="Printify", attempt=2, max_attempts=3)


@REGISTRY.register
class OrderInProduction(OrderFact):
    """The provider started making the order."""

    TYPE: ClassVar[str] = "order.production"
    LEVEL: ClassVar[Level] = Level.INFO
    CATEGORY: ClassVar[Category] = Category.FULFILMENT

    provider: Provider

    def render(self) -> str:
        return f"In production at {self.provider}"

    @classmethod
    def example(cls) -> Self:
        return cls(order_id="ord_01J9Z8K4", provider="Printify")


@REGISTRY.register
class OrderShipped(OrderFact):
    """The order left the provider with a carrier."""

    TYPE: ClassVar[str] = "order.shipped"
    LEVEL: ClassVar[Level] = Level.INFO
    CATEGORY: ClassVar[Category] = Category.FULFILMENT

    provider: Provider
    carrier: str
    tracking_number: str | None = None
    tracking_url: str | None = None

    def render(self) -> str:
        if self.tracking_number:
            return f"Shipped via {self.carrier} — tracking: {self.tracking_number}"
        return f"Shipped via {self.carrier}"

    @classmethod
    def example(cls) -> Self:
        return cls(
            order_id="ord_01J9Z8K4",
            provider="Printify",
            carrier="DHL",
            tracking_number="1Z999AA10123456784",
            tracking_url="https://track.example.com/1Z999AA10123456784",
        )


@REGISTRY.register
class OrderDelivered(OrderFact):
    """The carrier delivered the order."""

    TYPE: ClassVar[str] = "order.delivered"
    LEVEL: ClassVar[Level] = Level.INFO
    CATEGORY: ClassVar[Category] = Category.FULFILMENT

    provider: Provider

    def render(self) -> str:
        return "Delivered"

    @classmethod
    def example(cls) -> Self:
        return cls(order_id="ord_01J9Z8K4", provider="Printify")


@REGISTRY.register
class OrderCancelled(OrderFact):
    """The order was cancelled (by the provider or the shop)."""

    TYPE: ClassVar[str] = "order.cancelled"
    LEVEL: ClassVar[Level] = Level.WARNING
    CATEGORY: ClassVar[Category] = Category.ORDERS

    provider: Provider | None = None
    reason: FreeText | None = None

    def render(self) -> str:
        return f"Order cancelled: {self.reason}" if self.reason else "Order cancelled"

    @classmethod
    def example(cls) -> Self:
        return cls(order_id="ord_01J9Z8K4", provider="Printify")


@REGISTRY.register
class SyncStarted(EventData):
    """A product sync with a provider began."""

    TYPE: ClassVar[str] = "sync.started"
    LEVEL: ClassVar[Level] = Level.INFO
    CATEGORY: ClassVar[Category] = Category.SYNCS
    KEY: ClassVar[tuple[str, ...]] = ("provider",)

    sync_id: Identifier
    provider: Provider

    def render(self) -> str:
        return f"Product sync started ({self.provider})"

    @classmethod
    def example(cls) -> Self:
        return cls(sync_id="sync_01J9Z9", provider="Printify")


@REGISTRY.register
class SyncCompleted(EventData):
    """A product sync finished, with what it changed."""

    TYPE: ClassVar[str] = "sync.completed"
    LEVEL: ClassVar[Level] = Level.INFO
    CATEGORY: ClassVar[Category] = Category.SYNCS
    KEY: ClassVar[tuple[str, ...]] = ("provider",)

    sync_id: Identifier
    provider: Provider
    total: int = Field(ge=0)
    created: int = Field(default=0, ge=0)
    updated: int = Field(default=0, ge=0)
    removed: int = Field(default=0, ge=0)

    def render(self) -> str:
        parts = [f"{self.total} products", f"{self.updated} updated"]
        if self.created:
            parts.append(f"{self.created} new")
        if self.removed:
            parts.append(f"{self.removed} removed")
        return "Product sync complete — " + ", ".join(parts)

    @classmethod
    def example(cls) -> Self:
        return cls(sync_id="sync_01J9Z9", provider="Printify", total=47, updated=3)


@REGISTRY.register
class SyncFailed(EventData):
    """A product sync gave up, with the reason."""

    TYPE: ClassVar[str] = "sync.failed"
    LEVEL: ClassVar[Level] = Level.ERROR
    CATEGORY: ClassVar[Category] = Category.SYNCS
    KEY: ClassVar[tuple[str, ...]] = ("provider",)

    sync_id: Identifier
    provider: Provider
    reason: FreeText

    def render(self) -> str:
        return f"Product sync failed: {self.reason}"

    @classmethod
    def example(cls) -> Self:
        return cls(sync_id="sync_01J9Z9", provider="Printify", reason="API rate limit exceeded")
