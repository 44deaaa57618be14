"""The notifier's own metrics: emails by outcome, and who is suppressed.

`CountingMailer` wraps the mailer port where the worker is assembled, so the
use cases are untouched: every hand-over to the mail server is counted by its
outcome (`shoptrail_emails_total{outcome}`) and timed. Suppression is state,
not an event in this process, so `SuppressionSampler` reads it from the
database on a timer: the suppression list by reason, and the abandoned carts
closed without their email because the address was suppressed.
"""

from __future__ import annotations

import time
from email.message import EmailMessage

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from shoptrail.kit.sampling import PeriodicSampler
from shoptrail.notifier.adapters.tables import abandoned_carts, suppressions
from shoptrail.notifier.service_layer.ports import (
    Mailer,
    OperatorActionError,
    PermanentSendError,
    TemporarySendError,
)

SEND_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class EmailMetrics:
    """`shoptrail_emails_total{outcome}` and `shoptrail_email_send_duration_seconds{outcome}`."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.emails = Counter(
            "shoptrail_emails",
            "Emails handed to the mail server, by outcome: sent, failed (tried again later), "
            "bounced (refused for good: the address is suppressed), held (the operator's "
            "set-up is refused).",
            ["outcome"],
            registry=registry,
        )
        self.duration = Histogram(
            "shoptrail_email_send_duration_seconds",
            "Time the mail server took to accept or refuse an email, by outcome.",
            ["outcome"],
            registry=registry,
            buckets=SEND_BUCKETS,
        )


class CountingMailer(Mailer):
    """A `Mailer` that counts and times what the wrapped one does; it changes nothing."""

    def __init__(self, inner: Mailer, metrics: EmailMetrics) -> None:
        self._inner = inner
        self._metrics = metrics

    async def send(self, message: EmailMessage) -> None:
        started = time.perf_counter()
        outcome = "failed"
        try:
            await self._inner.send(message)
            outcome = "sent"
        except OperatorActionError:
            outcome = "held"
            raise
        except PermanentSendError:
            outcome = "bounced"
            raise
        except TemporarySendError:
            outcome = "failed"
            raise
        finally:
            self._metrics.emails.labels(outcome).inc()
            self._metrics.duration.labels(outcome).observe(time.perf_counter() - started)


def _families() -> tuple[GaugeMetricFamily, GaugeMetricFamily]:
    return (
        GaugeMetricFamily(
            "shoptrail_email_suppressions",
            "Addresses that get no recovery emails, by reason (bounced, unsubscribed).",
            labels=["reason"],
        ),
        GaugeMetricFamily(
            "shoptrail_recovery_carts_closed",
            "Abandoned carts (within their retention) closed without an email, by reason "
            "(suppressed, paid, recovery_off, too_late).",
            labels=["reason"],
        ),
    )


class SuppressionSampler(PeriodicSampler):
    """The suppression list and carts skipped for it, counted in the notifier's database."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        super().__init__()

    def empty(self) -> list[Metric]:
        return list(_families())

    async def sample(self) -> list[Metric]:
        by_reason = select(suppressions.c.reason, func.count()).group_by(suppressions.c.reason)
        closed = (
            select(abandoned_carts.c.closed_reason, func.count())
            .where(abandoned_carts.c.closed_reason.is_not(None))
            .group_by(abandoned_carts.c.closed_reason)
        )
        async with self._engine.connect() as conn:
            suppressed = (await conn.execute(by_reason)).all()
            skipped = (await conn.execute(closed)).all()
        listed, carts = _families()
        for reason, count in suppressed:
            listed.add_metric([reason], float(count))
        for reason, count in skipped:
            carts.add_metric([reason], float(count))
        return [listed, carts]
