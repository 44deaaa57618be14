"""Emails held for the operator: said once, released by new settings or a slow probe, sent once."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

from shoptrail.events.system import OperatorActionCleared, OperatorActionNeeded
from shoptrail.notifier.adapters.clock import ManualClock
from shoptrail.notifier.adapters.templates import TemplateComposer, template_environment
from shoptrail.notifier.devtools.memory import (
    MemoryJournal,
    MemoryMailer,
    MemoryQueue,
    MemoryUnitOfWork,
)
from shoptrail.notifier.domain import problems
from shoptrail.notifier.domain.model import EmailKind, EmailStatus, OutgoingEmail, ShopSettings
from shoptrail.notifier.domain.tokens import UnsubscribeTokens
from shoptrail.notifier.service_layer import holding
from shoptrail.notifier.service_layer.delivery import Attempt, deliver_email
from shoptrail.notifier.service_layer.ports import OperatorActionError
from shoptrail.notifier.service_layer.shop_settings import update_settings

START = datetime(2026, 2, 23, 10, tzinfo=UTC)
SHOP = ShopSettings("Sam's Prints", "hello@samsprints.shop")
FIXED = ShopSettings("Sam's Prints", "orders@samsprints.shop")
COMPOSER = TemplateComposer(
    template_environment(), tokens=UnsubscribeTokens(b"k"), public_base_url="https://n.example"
)
REFUSED = OperatorActionError(problems.sender_refused("553 5.7.1 sender not owned by user"))


class Shop:
    """The notifier's use cases over in-memory ports, with a mail server told what to say."""

    def __init__(self, refusal: Exception | None = REFUSED) -> None:
        self.uow = MemoryUnitOfWork(SHOP)
        self.mailer = MemoryMailer(refusal)
        self.queue = MemoryQueue()
        self.clock = ManualClock(START)

    async def owe(self, count: int) -> list[UUID]:
        ids = []
        for number in range(count):
            email = OutgoingEmail(
                id=uuid4(),
                kind=EmailKind.ORDER_CONFIRMATION,
                recipient=f"customer{number}@example.com",
                order_id=f"ord_{number}",
                context={
                    "order_number": f"SS-{number}",
                    "total": "£1",
                    "items": [],
                    "customer_name": None,
                },
            )
            await self.uow.emails.add(email, now=self.clock.now())
            ids.append(email.id)
        return ids

    async def deliver(self, email_id: UUID) -> None:
        await deliver_email(
            email_id=email_id,
            attempt=Attempt("job", 1, 8),
            uow=self.uow,
            mailer=self.mailer,
            composer=COMPOSER,
            clock=self.clock,
            queue=self.queue,
            journal=MemoryJournal(),
        )

    async def run_queue(self) -> None:
        """Deliver everything enqueued (and whatever that enqueues), like the worker would."""
        while self.queue.enqueued:
            await self.deliver(self.queue.enqueued.pop(0))

    async def probe(self) -> int:
        return await holding.probe_held_emails(
            uow=self.uow, queue=self.queue, clock=self.clock, every=timedelta(minutes=5)
        )

    def status(self, email_id: UUID) -> EmailStatus:
        return self.uow.emails.rows[email_id].status

    def events(self, data_type: type) -> list[object]:
        return [e.data for e in self.uow.published if isinstance(e.data, data_type)]

    def recipients_sent(self) -> Counter[str]:
        return Counter(str(message["To"]) for message in self.mailer.sent)


async def test_a_refused_sender_holds_every_email_and_says_so_once() -> None:
    shop = Shop()
    ids = await shop.owe(5)
    for email_id in ids:
        await shop.deliver(email_id)  # returns: the job is done, nothing retries it

    assert [shop.status(i) for i in ids] == [EmailStatus.HELD] * 5
    (needed,) = shop.events(OperatorActionNeeded)
    assert isinstance(needed, OperatorActionNeeded)
    assert needed.problem == "notifier.smtp_sender_refused"
    assert "553" in (needed.detail or "") and "sender address" in needed.fix
    assert shop.uow.published_types() == ["system.action_needed"], "no exhausted, no bounce"
    assert shop.mailer.attempts == 1, "once the server refused us, the rest wait untried"
    assert shop.uow.suppressions.addresses == set(), "no customer is blamed"


async def test_new_settings_release_held_emails_and_each_is_sent_exactly_once() -> None:
    shop = Shop()
    ids = await shop.owe(4)
    for email_id in ids:
        await shop.deliver(email_id)
    shop.mailer.error = None  # the new sender is one the server accepts

    released = await update_settings(
        settings=FIXED, uow=shop.uow, clock=shop.clock, queue=shop.queue
    )
    assert released == 4
    assert sorted(shop.queue.enqueued) == sorted(ids)
    await shop.run_queue()

    assert [shop.status(i) for i in ids] == [EmailStatus.SENT] * 4
    assert shop.recipients_sent() == Counter(f"customer{n}@example.com" for n in range(4))
    assert all(m["From"].addresses[0].addr_spec == FIXED.sender_address for m in shop.mailer.sent)
    (cleared,) = shop.events(OperatorActionCleared)
    assert isinstance(cleared, OperatorActionCleared)
    assert cleared.problem == "notifier.smtp_sender_refused"
    assert shop.uow.problems.rows == {}


async def test_settings_that_do_not_fix_it_hold_the_emails_again_without_a_second_error() -> None:
    shop = Shop()
    ids = await shop.owe(3)
    for email_id in ids:
        await shop.deliver(email_id)
    await update_settings(settings=SHOP, uow=shop.uow, clock=shop.clock, queue=shop.queue)
    await shop.run_queue()

    assert [shop.status(i) for i in ids] == [EmailStatus.HELD] * 3
    assert shop.uow.published_types() == ["system.action_needed"]
    assert shop.mailer.attempts == 2, "one trial after the change, then held untried again"


async def test_a_slow_probe_tries_one_held_email_and_a_success_releases_the_rest() -> None:
    shop = Shop()
    ids = await shop.owe(3)
    for email_id in ids:
        await shop.deliver(email_id)

    shop.clock.advance(timedelta(minutes=4))
    assert await shop.probe() == 0, "not yet"
    shop.clock.advance(timedelta(minutes=1))
    assert await shop.probe() == 1
    await shop.run_queue()  # still refused: held again, nothing said again
    assert shop.mailer.attempts == 2
    shop.clock.advance(timedelta(minutes=1))
    assert await shop.probe() == 0, "the next probe waits a full interval after that failure"

    shop.mailer.error = None  # the operator fixed the server's side
    shop.clock.advance(timedelta(minutes=5))
    assert await shop.probe() == 1
    await shop.run_queue()

    assert [shop.status(i) for i in ids] == [EmailStatus.SENT] * 3
    assert shop.recipients_sent() == Counter(f"customer{n}@example.com" for n in range(3))
    assert shop.uow.published_types().count("system.action_needed") == 1
    (cleared,) = shop.events(OperatorActionCleared)
    assert isinstance(cleared, OperatorActionCleared)
    assert cleared.summary == "Emails are flowing again: 2 held emails released"


async def test_held_emails_left_without_an_open_problem_are_released_by_the_tick() -> None:
    shop = Shop(refusal=None)
    (email_id,) = await shop.owe(1)
    await holding.hold_email(email_id, None, claimed=False, uow=shop.uow, clock=shop.clock)
    assert shop.status(email_id) is EmailStatus.HELD  # a race with the success that cleared it

    assert await shop.probe() == 1
    await shop.run_queue()
    assert shop.status(email_id) is EmailStatus.SENT


async def test_no_smtputf8_for_the_sender_is_held_the_same_way() -> None:
    shop = Shop(OperatorActionError(problems.smtputf8_unsupported("SMTPUTF8 not supported")))
    ids = await shop.owe(3)
    for email_id in ids:
        await shop.deliver(email_id)
    assert [shop.status(i) for i in ids] == [EmailStatus.HELD] * 3
    (needed,) = shop.events(OperatorActionNeeded)
    assert isinstance(needed, OperatorActionNeeded)
    assert needed.problem == "notifier.smtp_utf8_unsupported"
    assert "ASCII" in needed.fix


async def test_a_stored_sender_no_server_accepts_holds_emails_before_any_smtp() -> None:
    shop = Shop(refusal=None)
    shop.uow.settings.current = ShopSettings("Sam's Prints", "shöp@samsprints.shop")
    (email_id,) = await shop.owe(1)
    await shop.deliver(email_id)

    assert shop.status(email_id) is EmailStatus.HELD
    assert shop.mailer.attempts == 0
    (needed,) = shop.events(OperatorActionNeeded)
    assert isinstance(needed, OperatorActionNeeded)
    assert needed.problem == "notifier.sender_address_invalid"
    assert "not ASCII" in (needed.detail or "")


async def test_a_stored_international_domain_is_sent_in_idna_form() -> None:
    shop = Shop(refusal=None)
    shop.uow.settings.current = ShopSettings("Sam's Prints", "shop@exämple.com")
    (email_id,) = await shop.owe(1)
    await shop.deliver(email_id)
    (message,) = shop.mailer.sent
    assert message["From"].addresses[0].addr_spec == "shop@xn--exmple-cua.com"
    assert message["Message-ID"] == f"<{email_id}@xn--exmple-cua.com>"
