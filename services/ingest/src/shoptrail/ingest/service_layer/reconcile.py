"""Reconciliation: publish Stripe events whose webhook delivery failed, so an outage loses nothing.

Every listed event goes through the same translation as its webhook would
have. Re-publishing one that did arrive after all is harmless: its event id is
derived from Stripe's event id, so it is the same event and every consumer
(idempotent on the id) keeps one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from shoptrail.ingest.domain import stripe_events as se
from shoptrail.ingest.domain.errors import InvalidWebhookError
from shoptrail.ingest.service_layer.handlers import ingest_stripe_event
from shoptrail.ingest.service_layer.ports import EventSink, StripeApi

STRIPE_EVENT_RETENTION = timedelta(days=30)
_DURATION = re.compile(r"^\s*(\d+)\s*([smhd])\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_duration(text: str) -> timedelta:
    """`90s`, `15m`, `12h`, `2d` → a timedelta (Stripe keeps events for 30 days at most)."""
    match = _DURATION.match(text)
    if not match:
        raise ValueError(f"{text!r} is not a duration like 90s, 15m, 12h or 2d")
    span = timedelta(**{_UNITS[match[2]]: int(match[1])})
    if not timedelta(0) < span <= STRIPE_EVENT_RETENTION:
        raise ValueError("the duration must be more than 0 and at most 30d (Stripe's retention)")
    return span


@dataclass
class ReconcileReport:
    """What a reconcile run found and did."""

    checked: int = 0
    published: list[str] = field(default_factory=list)
    already_published: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    would_publish: list[str] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"checked {self.checked} undelivered Stripe events: "
            f"{len(self.published)} published, {len(self.already_published)} already published, "
            f"{len(self.ignored)} ignored, {len(self.unreadable)} unreadable"
            + (f", {len(self.would_publish)} to publish (dry run)" if self.would_publish else "")
        )


async def reconcile(
    *, since: datetime, stripe: StripeApi, sink: EventSink, dry_run: bool = False
) -> ReconcileReport:
    """Publish every handled Stripe event since `since` whose webhook delivery failed.

    Raises `UpstreamUnavailableError` if Stripe or Kafka stop answering; running
    it again is safe.
    """
    report = ReconcileReport()
    async for raw in stripe.undelivered_events(since=since, types=se.HANDLED_TYPES):
        report.checked += 1
        try:
            event = se.parse_event(raw)
            if dry_run:
                report.would_publish.append(f"{event.id} {event.type}")
                continue
            outcome = await ingest_stripe_event(event, stripe=stripe, sink=sink)
        except InvalidWebhookError as exc:
            report.unreadable.append(f"{raw.get('id')}: {exc.detail}")
            continue
        line = f"{event.id} {event.type}"
        if outcome.status == "ignored":
            report.ignored.append(f"{line}: {outcome.reason}")
        for published, result in zip(outcome.events, outcome.results, strict=True):
            entry = f"{line} → {published.type} {published.id}"
            if result == "published":
                report.published.append(entry)
            else:
                report.already_published.append(entry)
    return report
