"""Once the mail server accepted an email, recording it survives the database being away,
and a crash before the record is settled from the journal: never by sending it again."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest
from sqlalchemy.exc import OperationalError

from shoptrail.events.failures import Backoff
from shoptrail.events.notifier import OrderConfirmationSent, ShippingNotificationSent
from shoptrail.events.system import JobExhausted
from shoptrail.notifier.adapters.clock import ManualClock
from shoptrail.notifier.adapters.templates import TemplateComposer, template_environment
from shoptrail.notifier.devtools.memory import (
    MemoryJournal,
    MemoryMailer,
    MemoryQueue,
    MemoryUnitOfWork,
)
from shoptrail.notifier.domain.model import (
    CustomerOrder,
    EmailKind,
    EmailStatus,
    OutgoingEmail,
    ShopSettings,
)
from shoptrail.notifier.domain.tokens import UnsubscribeTokens
from shoptrail.notifier.service_layer.delivery import Attempt, deliver_email
from shoptrail.notifier.service_layer.reconciling import StuckEmails, flag_stuck_emails

START = datetime(2026, 2, 23, 10, tzinfo=UTC)
SHOP = ShopSettings("Sam's Prints", "hello@samsprints.shop")
COMPOSER = TemplateComposer(
    template_environment(), tokens=UnsubscribeTokens(b"k"), public_base_url="https://n.example"
)


def _database_away() -> OperationalError:
    return OperationalError("COMMIT", None, ConnectionRefusedError(111, "Connection refused"))


@dataclass(frozen=True)
class NoSleep(Backoff):
    """Backoff that records each wait instead of sleeping it."""

    waits: list[int] = field(default_factory=list)

    async def wait(self, attempt: int) -> float:
        self.waits.append(attempt)
        return 0.0


class OutageUnitOfWork(MemoryUnitOfWork):
    """The database goes away for the next `outage` transactions once `fail_from_now()`."""

    def __init__(self, settings: ShopSettings) -> None:
        super().__init__(settings)
        self.outage = 0
        self.commit_answer_lost = False

    async def _begin(self) -> None:
        if self.outage:
            self.outage -= 1
            raise _database_away()
        await super()._begin()

    async def commit(self) -> None:
        await super().commit()
        if self.commit_answer_lost:  # committed, but the answer never came back
            self.commit_answer_lost = False
            raise _database_away()


class OutageOnAcceptance(MemoryMailer):
    """A mail server that accepts, just as the database goes away."""

    def __init__(self, uow: OutageUnitOfWork, *, outage: int = 0, answer_lost: bool = False):
        super().__init__()
        self._uow, self._outage, self._answer_lost = uow, outage, answer_lost

    async def send(self, message: object) -> None:
        await super().send(message)  # type: ignore[arg-type]
        self._uow.outage = self._outage
        self._uow.commit_answer_lost = self._answer_lost


async def _owe(uow: MemoryUnitOfWork, *, kind: EmailKind = EmailKind.ORDER_CONFIRMATION) -> UUID:
    email = OutgoingEmail(
        id=uuid4(),
        kind=kind,
        recipient=None if kind is EmailKind.SHIPPING_NOTIFICATION else "jo@example.com",
        order_id="ord_1",
        context={"order_number": "SS-1", "total": "£1", "items": [], "customer_name": None},
    )
    await uow.emails.add(email, now=START)
    return email.id


async def _deliver(
    email_id: UUID,
    uow: MemoryUnitOfWork,
    mailer: MemoryMailer,
    *,
    journal: MemoryJournal,
    backoff: Backoff,
) -> None:
    await deliver_email(
        email_id=email_id,
        attempt=Attempt("job", 1, 8),
        uow=uow,
        mailer=mailer,
        composer=COMPOSER,
        clock=ManualClock(START),
        queue=MemoryQueue(),
        journal=journal,
        backoff=backoff,
    )


class TestRecordingWhileTheDatabaseIsAway:
    async def test_the_record_is_retried_with_backoff_and_the_email_is_sent_once(self) -> None:
        uow, journal, backoff = OutageUnitOfWork(SHOP), MemoryJournal(), NoSleep()
        mailer = OutageOnAcceptance(uow, outage=4)
        email_id = await _owe(uow)

        await _deliver(email_id, uow, mailer, journal=journal, backoff=backoff)

        assert len(mailer.sent) == 1
        assert backoff.waits == [1, 2, 3, 4], "one growing wait per failed try"
        assert uow.emails.rows[email_id].status is EmailStatus.SENT
        (sent,) = uow.published
        assert isinstance(sent.data, OrderConfirmationSent)
        assert sent.data.message_id == f"<{email_id}@samsprints.shop>"

    async def test_a_commit_whose_answer_was_lost_is_not_announced_twice(self) -> None:
        uow, backoff = OutageUnitOfWork(SHOP), NoSleep()
        mailer = OutageOnAcceptance(uow, answer_lost=True)
        email_id = await _deliver_one(uow, mailer, backoff=backoff)

        assert backoff.waits == [1]
        assert uow.emails.rows[email_id].status is EmailStatus.SENT
        assert uow.published_types() == [OrderConfirmationSent.TYPE]
        assert len(mailer.sent) == 1

    async def test_the_server_accepting_is_journalled_before_the_database_is_asked(
        self,
    ) -> None:
        uow, journal = OutageUnitOfWork(SHOP), MemoryJournal()
        mailer = OutageOnAcceptance(uow, outage=1)
        email_id = await _owe(uow)
        backoff = NoSleep()

        await _deliver(email_id, uow, mailer, journal=journal, backoff=backoff)
        assert journal.lines == {email_id: f"<{email_id}@samsprints.shop>"}

    async def test_a_failure_that_is_not_transient_is_raised_not_retried(self) -> None:
        uow, journal, backoff = MemoryUnitOfWork(SHOP), MemoryJournal(), NoSleep()
        email_id = await _owe(uow)

        class Broken(MemoryMailer):
            async def send(self, message: object) -> None:
                await super().send(message)  # type: ignore[arg-type]
                uow.emails.finish = _raise_bug  # type: ignore[method-assign]

        with pytest.raises(ValueError, match="a bug"):
            await _deliver(email_id, uow, Broken(), journal=journal, backoff=backoff)
        assert backoff.waits == []
        assert uow.emails.rows[email_id].status is EmailStatus.SENDING
        assert email_id in journal.lines, "so the tick can still settle it as sent"


async def _raise_bug(*args: object, **kwargs: object) -> None:
    raise ValueError("a bug")


async def _deliver_one(uow: MemoryUnitOfWork, mailer: MemoryMailer, *, backoff: Backoff) -> UUID:
    email_id = await _owe(uow)
    await _deliver(email_id, uow, mailer, journal=MemoryJournal(), backoff=backoff)
    return email_id


class TestStuckEmails:
    async def _stuck(self, uow: MemoryUnitOfWork, kind: EmailKind) -> UUID:
        email_id = await _owe(uow, kind=kind)
        await uow.emails.claim(email_id, now=START)  # the worker died after this
        return email_id

    async def _flag(self, uow: MemoryUnitOfWork, journal: MemoryJournal) -> StuckEmails:
        return await flag_stuck_emails(
            uow=uow,
            clock=ManualClock(START + timedelta(minutes=16)),
            stuck_after=timedelta(minutes=15),
            journal=journal,
        )

    async def test_one_the_journal_saw_accepted_is_marked_sent_with_its_event(self) -> None:
        uow, journal = MemoryUnitOfWork(SHOP), MemoryJournal()
        await uow.orders.add(CustomerOrder("ord_1", "SS-1", "jo@example.com", START))
        email_id = await self._stuck(uow, EmailKind.SHIPPING_NOTIFICATION)
        await journal.record(email_id, f"<{email_id}@samsprints.shop>", at=START)

        assert await self._flag(uow, journal) == StuckEmails(settled_as_sent=1)
        assert uow.emails.rows[email_id].status is EmailStatus.SENT
        (sent,) = uow.published
        assert isinstance(sent.data, ShippingNotificationSent)
        assert sent.data.recipient == "jo@example.com"
        assert sent.data.message_id == f"<{email_id}@samsprints.shop>"

    async def test_one_without_a_trace_is_reported_as_outcome_unknown(self) -> None:
        uow, journal = MemoryUnitOfWork(SHOP), MemoryJournal()
        email_id = await self._stuck(uow, EmailKind.ORDER_CONFIRMATION)

        assert await self._flag(uow, journal) == StuckEmails(reported_unknown=1)
        assert uow.emails.rows[email_id].status is EmailStatus.UNKNOWN
        (report,) = uow.published
        assert isinstance(report.data, JobExhausted)
        words = report.data.last_error
        assert "outcome unknown" in words and "may have been delivered" in words
        assert f"Message-ID <{email_id}@" in words and "Not resent" in words

    async def test_each_is_settled_once_however_often_the_tick_runs(self) -> None:
        uow, journal = MemoryUnitOfWork(SHOP), MemoryJournal()
        seen = await self._stuck(uow, EmailKind.ORDER_CONFIRMATION)
        await self._stuck(uow, EmailKind.ORDER_CONFIRMATION)
        await journal.record(seen, f"<{seen}@samsprints.shop>", at=START)

        assert await self._flag(uow, journal) == StuckEmails(1, 1)
        assert await self._flag(uow, journal) == StuckEmails(0, 0)
        assert sorted(uow.published_types()) == [JobExhausted.TYPE, OrderConfirmationSent.TYPE]
