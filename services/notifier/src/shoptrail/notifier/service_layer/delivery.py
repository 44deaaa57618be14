"""Sending one recorded email: claim it, hand it to SMTP, record the outcome and its event.

Exactly once per email: the email is claimed (`pending` → `sending`, committed)
before SMTP and marked `sent` with its event after. Once the server accepted
it, the Message-ID goes into a local journal and recording it is retried for
as long as the database is away: never by sending it again. A worker that dies
between acceptance and that record leaves the email `sending`;
`flag_stuck_emails` later settles it from the journal, or reports it as
"outcome unknown" instead of sending it again. We prefer a visible question
to a duplicate email.

A failure the operator must fix (the server refuses our sender, login or TLS)
holds the email instead: see `holding`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from uuid import UUID

from shoptrail.events import EventData
from shoptrail.events.failures import Backoff, FailureKind, classify, describe, mask_emails
from shoptrail.events.ingest import EmailBounced
from shoptrail.events.notifier import (
    AbandonedCartEmailSent,
    OrderConfirmationSent,
    ShippingNotificationSent,
)
from shoptrail.events.system import JobExhausted
from shoptrail.notifier.domain.addresses import envelope_address
from shoptrail.notifier.domain.model import EmailKind, EmailStatus, OutgoingEmail
from shoptrail.notifier.service_layer.emitting import notifier_event
from shoptrail.notifier.service_layer.holding import (
    clear_problems,
    enqueue_all,
    hold_email,
    holding_back,
)
from shoptrail.notifier.service_layer.ports import (
    AcceptedJournal,
    Clock,
    Composer,
    EmailQueue,
    Mailer,
    OperatorActionError,
    PermanentSendError,
    TemporarySendError,
    UnitOfWork,
)
from shoptrail.notifier.service_layer.shop_settings import sender_identity

log = logging.getLogger(__name__)

JOB_NAME = "send_email"

RECORD_BACKOFF = Backoff(base=0.5, cap=30.0)
"""How long to wait between tries to record an accepted email while the database is away."""


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


def sent_event(email: OutgoingEmail, recipient: str, message_id: str) -> EventData:
    """The fact that says this email reached the mail server."""
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
    queue: EmailQueue,
    journal: AcceptedJournal,
    backoff: Backoff = RECORD_BACKOFF,
) -> None:
    """One send attempt. Raises TemporarySendError to be retried, except on the last attempt."""
    recipient: str | None = None
    claimed = False
    try:
        async with uow:
            sender = await sender_identity(uow)
            held_back = await holding_back(uow)
        if held_back:  # the server refuses our set-up: trying this one would not help
            await hold_email(email_id, None, claimed=False, uow=uow, clock=clock)
            return
        found = await _claim(email_id, uow, clock)
        if found is None:
            return  # already sent, bounced, held or being sent: redelivery changes nothing
        claimed = True
        email, recipient, context = found
        message = composer.compose(
            OutgoingEmail(email.id, email.kind, context, recipient, email.order_id, email.cart_id),
            sender=sender,
            recipient=envelope_address(recipient),
            now=clock.now(),
        )
        await mailer.send(message)
    except OperatorActionError as error:
        await hold_email(email_id, error.problem, claimed=claimed, uow=uow, clock=clock)
        return
    except PermanentSendError as error:
        await _record_bounce(email_id, recipient, str(error), uow=uow, clock=clock)
        return
    except TemporarySendError as error:
        await _record_temporary_failure(email_id, error, attempt=attempt, uow=uow, clock=clock)
        if not attempt.final:
            raise
        return
    message_id = str(message["Message-ID"])
    try:
        await journal.record(email.id, message_id, at=clock.now())
    except Exception as error:  # a safety net for crashes; the database record is what counts
        log.warning(
            "could not journal an accepted email",
            extra={"email_id": str(email.id), "error": describe(error)},
        )
    released = await _record_sent(
        email, recipient, message_id, uow=uow, clock=clock, backoff=backoff
    )
    await enqueue_all(released, queue=queue)


async def _record_sent(
    email: OutgoingEmail,
    recipient: str,
    message_id: str,
    *,
    uow: UnitOfWork,
    clock: Clock,
    backoff: Backoff,
) -> list[UUID]:
    """Mark the accepted email sent, retrying transient failures until the database answers.

    Safe to repeat: the event is staged only by the transaction that moves
    the email to `sent`. The emails a cleared problem released are returned.
    """
    attempt = 0
    while True:
        attempt += 1
        try:
            async with uow:
                if await uow.emails.finish(email.id, EmailStatus.SENT, now=clock.now()) is None:
                    return []  # recorded already (a lost commit answer, or the journal)
                await uow.emit(
                    notifier_event(sent_event(email, recipient, message_id), clock=clock)
                )
                released = await clear_problems(uow=uow, clock=clock)
                await uow.commit()
            return released
        except Exception as error:
            if classify(error) is not FailureKind.TRANSIENT:
                raise
            log.warning(
                "recording an accepted email failed; retrying",
                extra={"email_id": str(email.id), "attempt": attempt, "error": describe(error)},
            )
            await backoff.wait(attempt)


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
                # The mail server's words can quote the address: the feed gets them masked.
                last_error=f"{email.kind.value.replace('_', ' ')}: {mask_emails(str(error))}"[:500],
                order_id=email.order_id,
            )
            await uow.emit(notifier_event(exhausted, clock=clock))
        await uow.commit()
