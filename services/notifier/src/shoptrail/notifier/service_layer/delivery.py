"""Sending one recorded email: claim it, hand it to SMTP, record the outcome and its event.

Exactly once per email: the email is claimed (`pending` → `sending`, committed)
before SMTP and marked `sent` with its event after. A worker that dies between
the server's acceptance and that commit leaves the email `sending`;
`flag_stuck_emails` later reports it instead of sending it again. We prefer a
visible "outcome unknown" to a duplicate email.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from uuid import UUID

from shoptrail.events import EventData
from shoptrail.events.ingest import EmailBounced
from shoptrail.events.notifier import (
    AbandonedCartEmailSent,
    OrderConfirmationSent,
    ShippingNotificationSent,
)
from shoptrail.events.system import JobExhausted
from shoptrail.notifier.domain.messages import message_id_for
from shoptrail.notifier.domain.model import EmailKind, EmailStatus, OutgoingEmail
from shoptrail.notifier.service_layer.emitting import notifier_event
from shoptrail.notifier.service_layer.ports import (
    Clock,
    Composer,
    EmailQueue,
    Mailer,
    PermanentSendError,
    TemporarySendError,
    UnitOfWork,
)
from shoptrail.notifier.service_layer.shop_settings import sender_identity

JOB_NAME = "send_email"


class RecipientUnknownError(TemporarySendError):
    """A shipping email for an order whose `order.created` the notifier has not seen (yet)."""


@dataclass(frozen=True)
class Attempt:
    """Which try of a send job this is (1-based)."""

    job_id: str
    number: int
    max_attempts: int

    @property
    def final(self) -> bool:
        return self.number >= self.max_attempts


async def _claim(
    email_id: UUID, uow: UnitOfWork, clock: Clock
) -> tuple[OutgoingEmail, str, dict[str, object]] | None:
    """Claim the email and resolve what is needed to send it, in one transaction."""
    async with uow:
        email = await uow.emails.claim(email_id, now=clock.now())
        if email is None:
            return None
        context = dict(email.context)
        recipient = email.recipient
        if email.kind is EmailKind.SHIPPING_NOTIFICATION and email.order_id:
            order = await uow.orders.get(email.order_id)
            if order is None:
                raise RecipientUnknownError(f"order {email.order_id} has not been seen")
            recipient = order.email
            context["order_number"] = order.order_number
        if recipient is None:
            raise RecipientUnknownError(f"email {email_id} has no recipient")
        await uow.commit()
    return email, recipient, context


def _sent_event(email: OutgoingEmail, recipient: str, message_id: str) -> EventData:
    if email.kind is EmailKind.CART_RECOVERY:
        return AbandonedCartEmailSent(cart_id=email.cart_id or "", recipient=recipient)
    if email.kind is EmailKind.SHIPPING_NOTIFICATION:
        return ShippingNotificationSent(
            order_id=email.order_id or "", recipient=recipient, message_id=message_id
        )
    return OrderConfirmationSent(
        order_id=email.order_id or "", recipient=recipient, message_id=message_id
    )


async def deliver_email(
    *,
    email_id: UUID,
    attempt: Attempt,
    uow: UnitOfWork,
    mailer: Mailer,
    composer: Composer,
    clock: Clock,
) -> None:
    """One send attempt. Raises TemporarySendError to be retried, except on the last attempt."""
    recipient: str | None = None
    try:
        async with uow:
            sender = await sender_identity(uow)
        claimed = await _claim(email_id, uow, clock)
        if claimed is None:
            return  # already sent, bounced or being sent: redelivery changes nothing
        email, recipient, context = claimed
        message = composer.compose(
            OutgoingEmail(email.id, email.kind, context, recipient, email.order_id, email.cart_id),
            sender=sender,
            recipient=recipient,
            now=clock.now(),
        )
        await mailer.send(message)
    except PermanentSendError as error:
        await _record_bounce(email_id, recipient, str(error), uow=uow, clock=clock)
        return
    except TemporarySendError as error:
        await _record_temporary_failure(email_id, error, attempt=attempt, uow=uow, clock=clock)
        if not attempt.final:
            raise
        return
    async with uow:
        await uow.emails.finish(email_id, EmailStatus.SENT, now=clock.now())
        sent = _sent_event(email, recipient, message_id_for(email.id, sender))
        await uow.emit(notifier_event(sent, clock=clock))
        await uow.commit()


async def _record_bounce(
    email_id: UUID, recipient: str | None, reason: str, *, uow: UnitOfWork, clock: Clock
) -> None:
    """A refused email: a warning in the log, and no more marketing to that address."""
    async with uow:
        email = await uow.emails.finish(email_id, EmailStatus.BOUNCED, now=clock.now())
        recipient = recipient or (email.recipient if email else None)
        if email is None or recipient is None:
            return
        await uow.suppressions.add(recipient, "bounced", now=clock.now())
        bounced = EmailBounced(
            recipient=recipient,
            email_kind=email.kind.value,
            order_id=email.order_id,
            reason=reason[:500],
            permanent=True,
        )
        await uow.emit(notifier_event(bounced, clock=clock))
        await uow.commit()


async def _record_temporary_failure(
    email_id: UUID, error: Exception, *, attempt: Attempt, uow: UnitOfWork, clock: Clock
) -> None:
    """Release the claim for the next try, or give up visibly after the last one."""
    status = EmailStatus.FAILED if attempt.final else EmailStatus.PENDING
    async with uow:
        email = await uow.emails.finish(email_id, status, now=clock.now(), error=str(error))
        if email is not None and attempt.final:
            exhausted = JobExhausted(
                job_name=JOB_NAME,
                job_id=attempt.job_id,
                attempts=attempt.number,
                last_error=f"{email.kind.value.replace('_', ' ')}: {error}"[:500],
                order_id=email.order_id,
            )
            await uow.emit(notifier_event(exhausted, clock=clock))
        await uow.commit()


async def flag_stuck_emails(*, uow: UnitOfWork, clock: Clock, stuck_after: timedelta) -> int:
    """Report emails whose send outcome was lost in a crash; they are not resent."""
    async with uow:
        stuck = await uow.emails.stuck(claimed_before=clock.now() - stuck_after)
        for email in stuck:
            await uow.emails.finish(email.id, EmailStatus.UNKNOWN, now=clock.now())
            unknown = JobExhausted(
                job_name=JOB_NAME,
                job_id=str(email.id),
                attempts=max(email.attempts, 1),
                last_error=(
                    f"{email.kind.value.replace('_', ' ')}: the worker stopped while sending; "
                    "not resent to avoid a duplicate — check the mail server's log"
                ),
                order_id=email.order_id,
            )
            await uow.emit(notifier_event(unknown, clock=clock))
        await uow.commit()
    return len(stuck)


async def requeue_pending_emails(
    *, uow: UnitOfWork, queue: EmailQueue, clock: Clock, older_than: timedelta
) -> int:
    """Enqueue emails left pending without a job (a crash between recording and enqueueing)."""
    async with uow:
        ids = await uow.emails.pending(created_before=clock.now() - older_than)
    for email_id in ids:
        await queue.enqueue(email_id)
    return len(ids)
