"""Kafka subscribers: order, shipping, checkout-expiry and bounce events → use cases."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, cast

from faststream.kafka import KafkaBroker

from shoptrail.events import Event, EventData
from shoptrail.events.catalog import CONSUMERS
from shoptrail.events.consuming import FailureHandling, subscribe_events
from shoptrail.events.fulfilment import OrderShipped
from shoptrail.events.ingest import CheckoutExpired, EmailBounced, OrderCreated
from shoptrail.notifier.service_layer import orders, recovery, suppression

if TYPE_CHECKING:
    from shoptrail.notifier.bootstrap import Notifier

log = logging.getLogger(__name__)

HANDLED_TYPES = CONSUMERS["notifier"].types()
"""What `on_event` acts on (the contract's consumer map says so for every reader)."""


def subscribe(broker: KafkaBroker, notifier: Notifier, *, failures: FailureHandling) -> None:
    """Subscribe the notifier to the ingest and fulfilment topics (at least once)."""
    settings = notifier.settings

    async def on_event(event: Event[EventData]) -> None:
        log.info(
            "handling event",
            extra={"event_id": str(event.id), "type": event.type, "subject": event.subject},
        )
        uow, clock = notifier.uow(), notifier.clock
        typed = cast(Event[Any], event)
        if isinstance(event.data, OrderCreated):
            await orders.on_order_created(event=typed, uow=uow, queue=notifier.queue, clock=clock)
        elif isinstance(event.data, OrderShipped):
            await orders.on_order_shipped(event=typed, uow=uow, queue=notifier.queue, clock=clock)
        elif isinstance(event.data, CheckoutExpired):
            await recovery.on_checkout_expired(
                event=typed, uow=uow, clock=clock, delay=settings.recovery_delay
            )
        elif isinstance(event.data, EmailBounced):
            await suppression.on_email_bounced(event=typed, uow=uow, clock=clock)

    subscribe_events(
        broker,
        settings.ingest_topic,
        settings.fulfilment_topic,
        group_id=settings.consumer_group,
        handler=on_event,
        failures=failures,
        types=HANDLED_TYPES,
    )
