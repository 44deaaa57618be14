"""The minute tick's safety nets: emails a lost job or a crash left behind."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from shoptrail.events.system import JobExhausted
from shoptrail.notifier.domain.model import EmailStatus, OutgoingEmail
from shoptrail.notifier.service_layer.delivery import JOB_NAME, sent_event
from shoptrail.notifier.service_layer.emitting import notifier_event
from shoptrail.notifier.service_layer.ports import AcceptedJournal, Clock, EmailQueue, UnitOfWork


@dataclass(frozen=True)
class StuckEmails:
    """What `flag_stuck_emails` did with the emails it found stuck in `sending`."""

    settled_as_sent: int = 0
    """The journal shows the mail server accepted them: now `sent`, with their event."""
    reported_unknown: int = 0
    """No trace of acceptance: `unknown`, reported, not resent."""


def _outcome_unknown(email: OutgoingEmail) -> str:
    kind = email.kind.value.replace("_", " ")
    return (
        f"{kind}: outcome unknown: the worker stopped after handing this email to the "
        "mail server and before recording the answer, so it may have been delivered. "
        "Not resent, to avoid a duplicate. To check, search the mail server's log for "
        f"the Message-ID <{email.id}@…>; if it is not there, the customer did not get it"
    )


async def _recipient(email: OutgoingEmail, uow: UnitOfWork) -> str:
    if email.recipient:
        return email.recipient
    order = await uow.orders.get(email.order_id) if email.order_id else None
    return order.email if order else ""


async def flag_stuck_emails(
    *, uow: UnitOfWork, clock: Clock, stuck_after: timedelta, journal: AcceptedJournal
) -> StuckEmails:
    """Settle emails whose send outcome a crash lost: sent if journalled, else reported."""
    now = clock.now()
    settled = unknown = 0
    async with uow:
        stuck = await uow.emails.stuck(claimed_before=now - stuck_after)
        accepted = await journal.accepted([email.id for email in stuck]) if stuck else {}
        for email in stuck:
            if (message_id := accepted.get(email.id)) is not None:
                if await uow.emails.finish(email.id, EmailStatus.SENT, now=now):
                    sent = sent_event(email, await _recipient(email, uow), message_id)
                    await uow.emit(notifier_event(sent, clock=clock))
                    settled += 1
                continue
            if await uow.emails.finish(email.id, EmailStatus.UNKNOWN, now=now) is None:
                continue
            report = JobExhausted(
                job_name=JOB_NAME,
                job_id=str(email.id),
                attempts=max(email.attempts, 1),
                last_error=_outcome_unknown(email),
                order_id=email.order_id,
            )
            await uow.emit(notifier_event(report, clock=clock))
            unknown += 1
        await uow.commit()
    return StuckEmails(settled_as_sent=settled, reported_unknown=unknown)


async def requeue_pending_emails(
    *, uow: UnitOfWork, queue: EmailQueue, clock: Clock, older_than: timedelta
) -> int:
    """Enqueue emails left pending without a job (a crash between recording and enqueueing)."""
    async with uow:
        ids = await uow.emails.pending(created_before=clock.now() - older_than)
    for email_id in ids:
        await queue.enqueue(email_id)
    return len(ids)
