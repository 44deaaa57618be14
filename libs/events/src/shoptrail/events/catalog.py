"""Who publishes what where: the taxonomy by producing service and topic."""

from __future__ import annotations

from shoptrail.events import fulfilment, ingest, notifier, system, topics
from shoptrail.events.base import EventData

PRODUCERS: dict[str, tuple[type[EventData], ...]] = {
    topics.INGEST: (
        ingest.OrderCreated,
        ingest.OrderRefunded,
        ingest.CheckoutExpired,
        ingest.ProviderStatusReported,
        ingest.EmailBounced,
    ),
    topics.FULFILMENT: (
        fulfilment.OrderSubmitted,
        fulfilment.OrderSubmissionFailed,
        fulfilment.OrderSubmissionRetried,
        fulfilment.OrderInProduction,
        fulfilment.OrderShipped,
        fulfilment.OrderDelivered,
        fulfilment.OrderCancelled,
        fulfilment.SyncStarted,
        fulfilment.SyncCompleted,
        fulfilment.SyncFailed,
        system.JobExhausted,
        system.EventDeadLettered,
        system.OperatorActionNeeded,
        system.OperatorActionCleared,
    ),
    topics.NOTIFIER: (
        notifier.OrderConfirmationSent,
        notifier.ShippingNotificationSent,
        notifier.AbandonedCartCreated,
        notifier.AbandonedCartEmailSent,
        notifier.AbandonedCartRecovered,
        ingest.EmailBounced,  # the SMTP server refused a message outright (a hard bounce)
        system.JobExhausted,
        system.EventDeadLettered,
        system.OperatorActionNeeded,
        system.OperatorActionCleared,
    ),
    topics.ACTIVITY: (system.EventDeadLettered,),
}

SHOP_TAXONOMY: tuple[str, ...] = (
    "order.created",
    "order.email.confirmation_sent",
    "order.submitted",
    "order.submission_failed",
    "order.submission_retried",
    "order.production",
    "order.shipped",
    "order.email.shipping_sent",
    "order.delivered",
    "order.cancelled",
    "order.refunded",
    "sync.started",
    "sync.completed",
    "sync.failed",
    "abandoned_cart.created",
    "abandoned_cart.email_sent",
    "abandoned_cart.recovered",
    "email.bounced",
    "job.exhausted",
)
"""The 19 types of the shop's design, in its order. Internal facts are extra."""


def topic_for(data: type[EventData] | EventData, *, producer_topic: str | None = None) -> str:
    """The topic a type is published on; types several services emit need `producer_topic`."""
    cls = data if isinstance(data, type) else type(data)
    owners = [topic for topic, types in PRODUCERS.items() if cls in types]
    if producer_topic is not None:
        if producer_topic not in owners:
            raise ValueError(f"{cls.TYPE!r} is not published on {producer_topic!r}")
        return producer_topic
    if len(owners) != 1:
        raise ValueError(f"{cls.TYPE!r} is published on {owners}; say which producer")
    return owners[0]
