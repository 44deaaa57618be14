"""The ingest use cases: a verified payload in, events acknowledged by Kafka out."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from shoptrail.events.base import EventData
from shoptrail.events.envelope import Event
from shoptrail.ingest.domain import stripe_events as se
from shoptrail.ingest.domain.facts import Fact, Ignored, translating
from shoptrail.ingest.domain.stripe_objects import StripeEvent
from shoptrail.ingest.service_layer.ports import EventSink, PublishResult, StripeApi

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    """What became of one webhook: the events now in Kafka, or why nothing was published."""

    status: Literal["published", "ignored"]
    kind: str
    events: tuple[Event[EventData], ...] = ()
    results: tuple[PublishResult, ...] = field(default=())
    reason: str | None = None


async def publish_facts(facts: Sequence[Fact], *, kind: str, sink: EventSink) -> Outcome:
    """Publish every fact (concurrently) and return once Kafka acknowledged all of them."""
    events = tuple(fact.to_event() for fact in facts)
    results = await asyncio.gather(*(sink.publish(event) for event in events))
    for event, result in zip(events, results, strict=True):
        log.info(
            "webhook fact published",
            extra={
                "event_id": str(event.id),
                "event_type": event.type,
                "order_id": event.subject,
                "source_kind": kind,
                "result": result,
            },
        )
    return Outcome("published", kind, events, tuple(results))


async def ingest(translated: Fact | list[Fact] | Ignored, *, kind: str, sink: EventSink) -> Outcome:
    """Publish what a translation produced, or report why it was ignored."""
    if isinstance(translated, Ignored):
        log.info("webhook ignored", extra={"source_kind": kind, "reason": translated.reason})
        return Outcome("ignored", kind, reason=translated.reason)
    facts = translated if isinstance(translated, list) else [translated]
    return await publish_facts(facts, kind=kind, sink=sink)


async def stripe_fact(event: StripeEvent, *, stripe: StripeApi) -> Fact | Ignored:
    """Translate one Stripe event, calling the Stripe API for what the event leaves out."""
    with translating(f"Stripe {event.type}"):
        if event.type in (se.CHECKOUT_COMPLETED, se.CHECKOUT_EXPIRED):
            session = se.session_of(event)
            embedded = session.line_items
            if embedded is not None and not embedded.has_more:
                items = embedded.data
            else:
                items = tuple(await stripe.checkout_line_items(session.id))
            if event.type == se.CHECKOUT_COMPLETED:
                return se.fact_for(event, se.order_created(session, items))
            return se.fact_for(event, se.checkout_expired(session, items))
        if event.type == se.CHARGE_REFUNDED:
            charge = se.charge_of(event)
            order_id = (charge.metadata or {}).get("order_id")
            if not order_id and charge.payment_intent:
                paid_by = await stripe.checkout_session_for_payment_intent(charge.payment_intent)
                order_id = se.order_id_for(paid_by) if paid_by else None
            if not order_id:
                return Ignored(event.type, f"charge {charge.id} was not paid through a checkout")
            refund = se.order_refunded(charge, event.data.previous_attributes, order_id=order_id)
            return se.fact_for(event, refund)
    return Ignored(event.type, f"Stripe {event.type!r} is not an event ingest handles")


async def ingest_stripe_event(event: StripeEvent, *, stripe: StripeApi, sink: EventSink) -> Outcome:
    """A verified Stripe event → its fact in Kafka (or ignored, for other types)."""
    return await ingest(await stripe_fact(event, stripe=stripe), kind=event.type, sink=sink)
