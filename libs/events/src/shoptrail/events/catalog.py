"""Who publishes what where, and who reads it: the taxonomy by topic and consumer group.

`PRODUCERS` and `CONSUMERS` are the one place these facts live: the services
subscribe from `CONSUMERS`, and the AsyncAPI document (schema.py) is generated
from both.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from shoptrail.events import fulfilment, ingest, notes, notifier, system, topics
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
        notifier.AlertSent,
        notifier.AlertFailed,
        ingest.EmailBounced,  # the SMTP server refused a message outright (a hard bounce)
        system.JobExhausted,
        system.EventDeadLettered,
        system.OperatorActionNeeded,
        system.OperatorActionCleared,
    ),
    # Staff notes only: activity records the dead letters it makes straight into its
    # own log (domain/entries.py), so no `event.dead_lettered` of its travels on Kafka.
    topics.ACTIVITY: (notes.OrderNoteAdded,),
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


def alerts_about(cls: type[EventData]) -> bool:
    """Whether an event of this type may alert the owner: warnings and errors, never an
    `alert.*` fact (an alert failing to send is an entry, not another alert)."""
    return cls.LEVEL.needs_attention and not cls.TYPE.startswith(ALERT_PREFIX)


ALERT_PREFIX = "alert."


@dataclass(frozen=True)
class Consumer:
    """One service's consumer group: which topics it reads and which types it acts on.

    `reads` maps a topic to the types the service handles there (it still reads,
    and commits past, every other record of the topic). `pattern`, when set, is
    a regex the service subscribes by instead of the topic list, so a new
    producer's topic is read without a code change; `reads` then lists the
    topics it matches today.
    """

    service: str
    group: str
    reads: Mapping[str, tuple[type[EventData], ...]]
    pattern: str | None = None
    dead_letters: bool = True
    """False: records it cannot read are skipped, not dead-lettered (another group of the
    same service already moves them aside; twice would be one letter too many)."""

    def types(self) -> frozenset[str]:
        """The wire types this consumer acts on, on any topic."""
        return frozenset(cls.TYPE for types in self.reads.values() for cls in types)

    @property
    def topics(self) -> tuple[str, ...]:
        """The topics it reads today (with a `pattern`, the ones the pattern matches now)."""
        return tuple(self.reads)

    @property
    def by_pattern(self) -> bool:
        """Subscribes by pattern: reads every event topic, known now or not (ACLs: prefixed)."""
        return self.pattern is not None


CONSUMERS: dict[str, Consumer] = {
    "fulfilment": Consumer(
        service="fulfilment",
        group="fulfilment",
        reads={
            topics.INGEST: (
                ingest.OrderCreated,
                ingest.OrderRefunded,
                ingest.ProviderStatusReported,
            )
        },
    ),
    "notifier": Consumer(
        service="notifier",
        group="notifier",
        reads={
            topics.INGEST: (ingest.OrderCreated, ingest.CheckoutExpired, ingest.EmailBounced),
            topics.FULFILMENT: (fulfilment.OrderShipped,),
        },
    ),
    "activity": Consumer(
        service="activity",
        group="shoptrail-activity",
        reads={topic: types for topic, types in PRODUCERS.items() if topics.is_event_topic(topic)},
        pattern=topics.EVENT_TOPIC_PATTERN,
    ),
    "notifier-alerts": Consumer(
        service="notifier",
        group="notifier-alerts",
        reads={
            topic: tuple(t for t in types if alerts_about(t))
            for topic, types in PRODUCERS.items()
            if topics.is_event_topic(topic)
        },
        pattern=topics.EVENT_TOPIC_PATTERN,
        dead_letters=False,
    ),
}
"""Every consumer group of the shop's event topics, by service (the groups are defaults:
each service's settings may rename its group)."""
