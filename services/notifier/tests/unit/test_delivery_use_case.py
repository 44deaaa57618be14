"""deliver_email with fakes that subclass the ports: outcomes, events and the sender look-up."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any
from uuid import UUID, uuid4

import pytest

from shoptrail.events import Event
from shoptrail.events.ingest import EmailBounced
from shoptrail.events.notifier import OrderConfirmationSent
from shoptrail.events.system import JobExhausted
from shoptrail.notifier.adapters.clock import ManualClock
from shoptrail.notifier.adapters.templates import TemplateComposer, template_environment
from shoptrail.notifier.domain.model import (
    AbandonedCart,
    CustomerOrder,
    EmailKind,
    EmailStatus,
    OutgoingEmail,
    ShopSettings,
)
from shoptrail.notifier.domain.tokens import UnsubscribeTokens
from shoptrail.notifier.service_layer import ports
from shoptrail.notifier.service_layer.delivery import Attempt, deliver_email
from shoptrail.notifier.service_layer.shop_settings import SenderNotConfiguredError

NOW = datetime(2026, 2, 23, 10, tzinfo=UTC)


class FakeSettings(ports.ShopSettingsRepository):
    def __init__(self, settings: ShopSettings) -> None:
        self.current = settings

    async def get(self) -> ShopSettings:
        return self.current

    async def save(self, settings: ShopSettings, *, now: datetime) -> None:
        self.current = settings


class FakeEmails(ports.EmailRepository):
    def __init__(self) -> None:
        self.rows: dict[UUID, OutgoingEmail] = {}

    async def add(self, email: OutgoingEmail, *, now: datetime) -> EmailStatus:
        return self.rows.setdefault(email.id, email).status

    async def claim(self, email_id: UUID, *, now: datetime) -> OutgoingEmail | None:
        email = self.rows.get(email_id)
        if email is None or email.status is not EmailStatus.PENDING:
            return None
        self.rows[email_id] = replace(
            email, status=EmailStatus.SENDING, attempts=email.attempts + 1
        )
        return self.rows[email_id]

    async def finish(
        self, email_id: UUID, status: EmailStatus, *, now: datetime, error: str | None = None
    ) -> OutgoingEmail | None:
        email = self.rows.get(email_id)
        if email is None or email.status not in (EmailStatus.PENDING, EmailStatus.SENDING):
            return None
        self.rows[email_id] = replace(email, status=status)
        return self.rows[email_id]

    async def stuck(self, *, claimed_before: datetime) -> list[OutgoingEmail]:
        return []

    async def pending(self, *, created_before: datetime) -> list[UUID]:
        return []

    async def prune(self, *, kind: str, created_before: datetime) -> int:
        return 0


class FakeOrders(ports.OrderRepository):
    async def add(self, order: CustomerOrder) -> None: ...

    async def get(self, order_id: str) -> CustomerOrder | None:
        return None

    async def paid_since(self, email: str, since: datetime) -> bool:
        return False


class FakeCarts(ports.CartRepository):
    async def add(self, cart: AbandonedCart, *, now: datetime) -> bool:
        return True

    async def due(self, *, now: datetime, limit: int) -> list[AbandonedCart]:
        return []

    async def mark_emailed(self, cart_id: str, *, email_id: UUID, now: datetime) -> None: ...

    async def close(self, cart_id: str, reason: str, *, now: datetime) -> None: ...

    async def emailed_unrecovered(self, email: str, *, before: datetime) -> list[AbandonedCart]:
        return []

    async def mark_recovered(self, cart_id: str, order_id: str) -> None: ...

    async def prune(self, *, created_before: datetime) -> int:
        return 0


class FakeSuppressions(ports.SuppressionRepository):
    def __init__(self) -> None:
        self.addresses: set[str] = set()

    async def add(self, email: str, reason: str, *, now: datetime) -> bool:
        new = email not in self.addresses
        self.addresses.add(email)
        return new

    async def contains(self, email: str) -> bool:
        return email in self.addresses


class FakeUnitOfWork(ports.UnitOfWork):
    """Keeps state across transactions; events count only once committed."""

    emails: FakeEmails
    suppressions: FakeSuppressions

    def __init__(self, settings: ShopSettings) -> None:
        self.settings = FakeSettings(settings)
        self.emails = FakeEmails()
        self.orders = FakeOrders()
        self.carts = FakeCarts()
        self.suppressions = FakeSuppressions()
        self.published: list[Event[Any]] = []
        self._staged: list[Event[Any]] = []

    async def emit(self, event: Event[Any]) -> None:
        self._staged.append(event)

    async def commit(self) -> None:
        self.published += self._staged
        self._staged = []

    async def _begin(self) -> None:
        self._staged = []

    async def _end(self) -> None:
        self._staged = []


class FakeMailer(ports.Mailer):
    def __init__(self, error: Exception | None = None) -> None:
        self.error = error
        self.sent: list[EmailMessage] = []

    async def send(self, message: EmailMessage) -> None:
        if self.error:
            raise self.error
        self.sent.append(message)


SHOP = ShopSettings("Sam's Prints", "hello@samsprints.shop")
COMPOSER = TemplateComposer(
    template_environment(), tokens=UnsubscribeTokens(b"k"), public_base_url="https://n.example"
)


async def _deliver(uow: FakeUnitOfWork, mailer: FakeMailer, *, number: int = 1) -> UUID:
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
    )
    return email.id


async def test_an_accepted_email_is_marked_sent_and_announced_once() -> None:
    uow, mailer = FakeUnitOfWork(SHOP), FakeMailer()
    email_id = await _deliver(uow, mailer)
    assert uow.emails.rows[email_id].status is EmailStatus.SENT
    (sent,) = uow.published
    assert isinstance(sent.data, OrderConfirmationSent)
    assert mailer.sent[0]["From"] == "Sam's Prints <hello@samsprints.shop>"


async def test_without_a_configured_sender_nothing_is_sent_and_the_job_retries() -> None:
    uow, mailer = FakeUnitOfWork(ShopSettings()), FakeMailer()
    with pytest.raises(SenderNotConfiguredError):
        await _deliver(uow, mailer)
    assert mailer.sent == []
    assert uow.published == []
    assert all(e.status is EmailStatus.PENDING for e in uow.emails.rows.values())


async def test_a_bounce_warns_and_suppresses_without_retrying() -> None:
    uow = FakeUnitOfWork(SHOP)
    email_id = await _deliver(uow, FakeMailer(ports.PermanentSendError("550 no such user")))
    assert uow.emails.rows[email_id].status is EmailStatus.BOUNCED
    assert [type(e.data) for e in uow.published] == [EmailBounced]
    assert await uow.suppressions.contains("jo@example.com")


async def test_a_temporary_failure_releases_the_email_for_the_next_attempt() -> None:
    uow = FakeUnitOfWork(SHOP)
    with pytest.raises(ports.TemporarySendError):
        await _deliver(uow, FakeMailer(ports.TemporarySendError("421 busy")))
    assert [e.status for e in uow.emails.rows.values()] == [EmailStatus.PENDING]
    assert uow.published == []


async def test_a_temporary_failure_on_the_last_attempt_gives_up_visibly() -> None:
    uow = FakeUnitOfWork(SHOP)
    email_id = await _deliver(uow, FakeMailer(ports.TemporarySendError("421 busy")), number=3)
    assert uow.emails.rows[email_id].status is EmailStatus.FAILED
    (exhausted,) = uow.published
    assert isinstance(exhausted.data, JobExhausted)
    assert exhausted.data.order_id == "ord_1"
