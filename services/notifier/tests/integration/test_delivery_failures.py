"""What happens when the SMTP server says no: retried through the job queue, or a bounce."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from shoptrail.events import Event, EventData, Level, new_event
from shoptrail.events.ingest import EmailBounced, OrderCreated
from shoptrail.events.notifier import OrderConfirmationSent
from shoptrail.events.system import JobExhausted
from shoptrail.notifier.adapters.clock import ManualClock
from shoptrail.notifier.adapters.tables import emails, suppressions
from shoptrail.notifier.bootstrap import Notifier
from shoptrail.notifier.service_layer import orders, reconciling

pytestmark = pytest.mark.postgres

CUSTOMER = "customer@example.com"
Staged = Callable[[Notifier], Awaitable[list[Event[EventData]]]]
Jobs = Callable[[Notifier], Awaitable[None]]


async def _order(notifier: Notifier) -> Event[OrderCreated]:
    event = new_event(OrderCreated.example(), source="/services/ingest")
    await orders.on_order_created(
        event=event, uow=notifier.uow(), queue=notifier.queue, clock=notifier.clock
    )
    return event


async def _status(notifier: Notifier, event: Event[Any]) -> str:
    async with notifier.engine.connect() as conn:
        return str(await conn.scalar(select(emails.c.status).where(emails.c.id == event.id)))


async def test_a_temporary_refusal_is_retried_by_the_job_queue_until_accepted(
    notifier: Notifier, smtp: Any, run_jobs: Jobs, staged_events: Staged
) -> None:
    refusals = iter(["451 4.3.0 try again later"])

    original = smtp.handler.handle_RCPT

    async def flaky(server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        reply = next(refusals, None)
        if reply:
            return reply
        return str(await original(server, session, envelope, address, options))

    smtp.handler.handle_RCPT = flaky
    event = await _order(notifier)
    await run_jobs(notifier)

    assert len(smtp.messages) == 1
    assert await _status(notifier, event) == "sent"
    assert [e.type for e in await staged_events(notifier)] == [OrderConfirmationSent.TYPE]


async def test_temporary_failures_until_the_last_attempt_give_up_with_a_job_exhausted_error(
    notifier: Notifier, smtp: Any, run_jobs: Jobs, staged_events: Staged
) -> None:
    smtp.handler.refuse[CUSTOMER] = f"451 4.3.0 mailbox busy for <{CUSTOMER}>"
    event = await _order(notifier)
    await run_jobs(notifier)

    assert smtp.messages == []
    assert await _status(notifier, event) == "failed"
    (exhausted,) = await staged_events(notifier)
    assert isinstance(exhausted.data, JobExhausted)
    assert exhausted.data.attempts == 3
    assert exhausted.data.order_id == OrderCreated.example().order_id
    assert "451" in exhausted.data.last_error
    assert CUSTOMER not in exhausted.data.last_error  # the server's words, masked


async def test_a_permanent_refusal_is_an_email_bounced_warning_and_suppresses_the_address(
    notifier: Notifier, smtp: Any, run_jobs: Jobs, staged_events: Staged
) -> None:
    smtp.handler.refuse[CUSTOMER] = "550 5.1.1 mailbox unavailable"
    event = await _order(notifier)
    await run_jobs(notifier)

    assert smtp.messages == []
    assert await _status(notifier, event) == "bounced"
    (bounced,) = await staged_events(notifier)
    assert isinstance(bounced.data, EmailBounced)
    assert bounced.level is Level.WARNING
    assert bounced.data.recipient == CUSTOMER
    assert bounced.data.email_kind == "order_confirmation"
    assert "550" in (bounced.data.reason or "")
    async with notifier.engine.connect() as conn:
        assert await conn.scalar(select(suppressions.c.reason)) == "bounced"


async def test_an_email_whose_send_outcome_was_lost_in_a_crash_is_reported_not_resent(
    notifier: Notifier, clock: ManualClock, smtp: Any, run_jobs: Jobs, staged_events: Staged
) -> None:
    event = await _order(notifier)
    async with notifier.uow() as uow:  # a worker claimed it, then died before recording
        await uow.emails.claim(event.id, now=clock.now())
        await uow.commit()
    await run_jobs(notifier)
    assert smtp.messages == []

    clock.advance(timedelta(minutes=16))
    flagged = await reconciling.flag_stuck_emails(
        uow=notifier.uow(),
        clock=clock,
        stuck_after=notifier.settings.email_stuck_after,
        journal=notifier.journal,
    )
    assert flagged == reconciling.StuckEmails(settled_as_sent=0, reported_unknown=1)
    assert await _status(notifier, event) == "unknown"
    (report,) = await staged_events(notifier)
    assert isinstance(report.data, JobExhausted)
    assert "Not resent" in report.data.last_error
    await notifier.queue.enqueue(event.id)
    await run_jobs(notifier)
    assert smtp.messages == []


async def test_an_email_stuck_sending_that_the_journal_saw_accepted_is_settled_as_sent(
    notifier: Notifier, clock: ManualClock, smtp: Any, run_jobs: Jobs, staged_events: Staged
) -> None:
    accepted, lost = await _order(notifier), await _order(notifier)
    async with notifier.uow() as uow:  # both claimed; the worker died after the server
        await uow.emails.claim(accepted.id, now=clock.now())  # accepted the first one
        await uow.emails.claim(lost.id, now=clock.now())
        await uow.commit()
    message_id = f"<{accepted.id}@samsprints.shop>"
    await notifier.journal.record(accepted.id, message_id, at=clock.now())

    clock.advance(timedelta(minutes=16))
    settled = await reconciling.flag_stuck_emails(
        uow=notifier.uow(),
        clock=clock,
        stuck_after=notifier.settings.email_stuck_after,
        journal=notifier.journal,
    )
    assert settled == reconciling.StuckEmails(settled_as_sent=1, reported_unknown=1)
    assert await _status(notifier, accepted) == "sent"
    assert await _status(notifier, lost) == "unknown"
    sent, unknown = sorted(
        await staged_events(notifier), key=lambda e: e.type != OrderConfirmationSent.TYPE
    )
    assert isinstance(sent.data, OrderConfirmationSent)
    assert (sent.data.message_id, sent.data.recipient) == (message_id, CUSTOMER)
    assert isinstance(unknown.data, JobExhausted)
    assert "may have been delivered" in unknown.data.last_error
    await run_jobs(notifier)
    assert smtp.messages == [], "neither is sent again"
