"""What the use cases need from the outside world (adapters implement these; tests fake them)."""

from __future__ import annotations

import abc
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any, Literal

from shoptrail.events.base import EventData
from shoptrail.events.envelope import Event
from shoptrail.ingest.domain.stripe_objects import CheckoutSession, StripeLineItem

PublishResult = Literal["published", "already_published"]


class EventSink(abc.ABC):
    """Makes events durable; returns only once Kafka acknowledged them."""

    @abc.abstractmethod
    async def publish(self, event: Event[EventData]) -> PublishResult:
        """Publish one event, or raise `UpstreamUnavailableError` if Kafka did not ack in time."""


class StripeApi(abc.ABC):
    """The few Stripe API calls ingest makes."""

    @abc.abstractmethod
    async def checkout_line_items(self, session_id: str) -> Sequence[StripeLineItem]:
        """Every line item of a Checkout Session, products expanded."""

    @abc.abstractmethod
    async def checkout_session_for_payment_intent(
        self, payment_intent: str
    ) -> CheckoutSession | None:
        """The Checkout Session that created a payment intent, if any."""

    @abc.abstractmethod
    def undelivered_events(
        self, *, since: datetime, types: Sequence[str]
    ) -> AsyncIterator[dict[str, Any]]:
        """Events of `types` since `since` whose webhook delivery failed (newest first)."""
