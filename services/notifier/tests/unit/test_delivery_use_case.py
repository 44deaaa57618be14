"""deliver_email with fakes that subclass the ports: outcomes, events and the sender look-up."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID, uuid4

import pytest

from shoptrail.events.ingest import EmailBounced
from shoptrail.events.notifier import OrderConfirmationSent
from shoptrail.events.system import JobExhausted
from shoptrail.notifier.adapters.clock import ManualClock
from shoptrail.notifier.adapters.templates import TemplateComposer, template_environment
from shoptrail.notifier.devtools.memory import (
    MemoryJournal,
    MemoryMailer,
    MemoryQueue,
    MemoryUnitOfWork,
)
from shoptrail.notifier.domain.model import EmailKind, EmailStatus, OutgoingEmail, ShopSettings
from shoptrail.notifier.domain.tokens import UnsubscribeTokens
from shoptrail.notifier.service_layer import ports
from shoptrail.notifier.service_layer.delivery import Attempt, deliver_email
from shoptrail.notifier.service_layer.shop_settings import SenderNotConfiguredError

NOW = datetime(2026, 2, 23, 10, tzinfo=UTC)


SHOP = ShopSettings("Sam's Prints", "hello@samsprints.shop")
COMPOSER = TemplateComposer(
    template_environment(), tokens=UnsubscribeTokens(b"k"), public_base_url="https://n.example"
)


async def _deliver(uow: MemoryUnitOfWork, mailer: MemoryMailer, *, number: int = 1) -> UUID:
    email = OutgoingEmail(
        id=uuid4(),
        kind=EmailKind.ORDER_CONFIRMATION,
        recipient="jo@example.com",
        order_id="ord_1",
        context={"order_number": "SS-1", "total": "£1.00", "items": [], "customer_name": None},
    )
    await uow.emails.add(email, now=NOW)
    await deliver_email(
        email_id=email.id,
        attempt=Attempt("job-1", number, 3),
        uow=uow,
        mailer=mailer,
        composer=COMPOSER,
        clock=ManualClock(NOW),
        queue=MemoryQueue(),
        journal=MemoryJournal(),
    )
    return email.id


async def test_an_accepted_email_is_marked_sent_and_announced_once() -> None:
    uow, mailer = MemoryUnitOfWork(SHOP), MemoryMailer()
    email_id = await _deliver(uow, mailer)
    assert uow.emails.rows[email_id].status is EmailStatus.SENT
    (sent,) = uow.published
    assert isinstance(sent.data, OrderConfirmationSent)
    assert mailer.sent[0]["From"] == "Sam's Prints <hello@samsprints.shop>"


async def test_without_a_configured_sender_nothing_is_sent_and_the_job_retries() -> None:
    uow, mailer = MemoryUnitOfWork(ShopSettings()), MemoryMailer()
    with pytest.raises(SenderNotConfiguredError):
        await _deliver(uow, mailer)
    assert mailer.sent == []
    assert uow.published == []
    assert all(e.status is EmailStatus.PENDING for e in uow.emails.rows.values())


async def test_a_bounce_warns_and_suppresses_without_retrying() -> None:
    uow = MemoryUnitOfWork(SHOP)
    email_id = await _deliver(uow, MemoryMailer(ports.PermanentSendError("550 no such user")))
    assert uow.emails.rows[email_id].status is EmailStatus.BOUNCED
    assert [type(e.data) for e in uow.published] == [EmailBounced]
    assert await uow.suppressions.contains("jo@example.com")


async def test_a_temporary_failure_releases_the_email_for_the_next_attempt() -> None:
    uow = MemoryUnitOfWork(SHOP)
    with pytest.raises(ports.TemporarySendError):
        await _deliver(uow, MemoryMailer(ports.TemporarySendError("421 busy")))
    assert [e.status for e in uow.emails.rows.values()] == [EmailStatus.PENDING]
    assert uow.published == []


async def test_a_temporary_failure_on_the_last_attempt_gives_up_visibly() -> None:
    uow = MemoryUnitOfWork(SHOP)
    email_id = await _deliver(uow, MemoryMailer(ports.TemporarySendError("421 busy")), number=3)
    assert uow.emails.rows[email_id].status is EmailStatus.FAILED
    (exhausted,) = uow.published
    assert isinstance(exhausted.data, JobExhausted)
    assert exhausted.data.order_id == "ord_1"
