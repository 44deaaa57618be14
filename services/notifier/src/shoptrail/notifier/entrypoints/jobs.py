"""Job-queue tasks: send one email (retried), the minute tick, the nightly prune."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import TYPE_CHECKING
from uuid import UUID

from procrastinate import JobContext, RetryStrategy

from shoptrail.events.tracing import job_span
from shoptrail.notifier.adapters.jobs import (
    PRUNE_ABANDONED_CARTS,
    SEND_DUE_RECOVERY_EMAILS,
    SEND_EMAIL,
)
from shoptrail.notifier.service_layer import delivery, holding, reconciling, recovery
from shoptrail.notifier.service_layer.ports import TemporarySendError

if TYPE_CHECKING:
    from shoptrail.notifier.bootstrap import Notifier

log = logging.getLogger(__name__)

REQUEUE_PENDING_AFTER = timedelta(minutes=5)


def register_tasks(notifier: Notifier, *, periodic: bool = True) -> None:
    """Register the notifier's tasks on its job app (periodic ones only if asked)."""
    app, settings = notifier.jobs, notifier.settings
    retry = RetryStrategy(
        max_attempts=settings.email_max_attempts,
        exponential_wait=settings.email_retry_wait_s,
        retry_exceptions=[TemporarySendError],
    )

    @app.task(name=SEND_EMAIL, pass_context=True, retry=retry)
    async def send_email(
        context: JobContext, email_id: str, traceparent: str | None = None
    ) -> None:
        job = context.job
        attempt = delivery.Attempt(str(job.id), job.attempts + 1, settings.email_max_attempts)
        log.info("sending email", extra={"email_id": email_id, "attempt": attempt.number})
        with job_span(SEND_EMAIL, traceparent, job_id=job.id):
            await delivery.deliver_email(
                email_id=UUID(email_id),
                attempt=attempt,
                uow=notifier.uow(),
                mailer=notifier.mailer,
                composer=notifier.composer,
                clock=notifier.clock,
                queue=notifier.queue,
                journal=notifier.journal,
            )

    async def send_due_recovery_emails(timestamp: int) -> None:
        """Every minute: due recovery emails, a probe of held emails, and the safety nets for
        lost jobs and crashes."""
        owed = await recovery.send_due_recovery_emails(
            uow=notifier.uow(), queue=notifier.queue, clock=notifier.clock
        )
        released = await holding.probe_held_emails(
            uow=notifier.uow(),
            queue=notifier.queue,
            clock=notifier.clock,
            every=settings.held_probe_every,
        )
        requeued = await reconciling.requeue_pending_emails(
            uow=notifier.uow(),
            queue=notifier.queue,
            clock=notifier.clock,
            older_than=REQUEUE_PENDING_AFTER,
        )
        stuck = await reconciling.flag_stuck_emails(
            uow=notifier.uow(),
            clock=notifier.clock,
            stuck_after=settings.email_stuck_after,
            journal=notifier.journal,
        )
        log.info(
            "tick",
            extra={
                "recovery_owed": owed,
                "held_released": released,
                "requeued": requeued,
                "stuck_settled_as_sent": stuck.settled_as_sent,
                "stuck_reported_unknown": stuck.reported_unknown,
            },
        )

    async def prune_abandoned_carts(timestamp: int) -> None:
        """Nightly: forget abandoned carts past their retention."""
        pruned = await recovery.prune_abandoned_carts(
            uow=notifier.uow(), clock=notifier.clock, retention=settings.cart_retention
        )
        log.info("pruned abandoned carts", extra={"count": pruned})

    tick = app.task(name=SEND_DUE_RECOVERY_EMAILS, queueing_lock=SEND_DUE_RECOVERY_EMAILS)(
        send_due_recovery_emails
    )
    prune = app.task(name=PRUNE_ABANDONED_CARTS, queueing_lock=PRUNE_ABANDONED_CARTS)(
        prune_abandoned_carts
    )
    if periodic:
        app.periodic(cron="* * * * *")(tick)
        app.periodic(cron="17 3 * * *")(prune)
