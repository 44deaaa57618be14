"""Abandoned-cart recovery on real PostgreSQL and SMTP, with a clock the test moves."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from sqlalchemy import func, select

from shoptrail.events import Event, EventData, new_event
from shoptrail.events.ingest import CheckoutExpired, EmailBounced, OrderCreated
from shoptrail.events.notifier import (
    AbandonedCartCreated,
    AbandonedCartEmailSent,
    AbandonedCartRecovered,
)
from shoptrail.notifier.adapters.clock import ManualClock
from shoptrail.notifier.adapters.tables import abandoned_carts
from shoptrail.notifier.bootstrap import Notifier
from shoptrail.notifier.domain.model import ShopSettings
from shoptrail.notifier.service_layer import orders, recovery, suppression
from shoptrail.notifier.service_layer.shop_settings import update_settings

pytestmark = pytest.mark.postgres

CUSTOMER = "customer@example.com"
Staged = Callable[[Notifier], Awaitable[list[Event[EventData]]]]
Jobs = Callable[[Notifier], Awaitable[None]]


async def _recovery_on(notifier: Notifier) -> None:
    on = ShopSettings("Sam's Prints", "hello@samsprints.shop", recovery_enabled=True)
    await update_settings(
        settings=on, uow=notifier.uow(), clock=notifier.clock, queue=notifier.queue
    )


async def _expire(notifier: Notifier, event: Event[CheckoutExpired] | None = None) -> Any:
    event = event or new_event(
        CheckoutExpired.example(), source="/services/ingest", time=notifier.clock.now()
    )
    return await recovery.on_checkout_expired(
        event=event, uow=notifier.uow(), clock=notifier.clock, delay=timedelta(hours=1)
    )


async def _tick(notifier: Notifier, run_jobs: Jobs) -> int:
    """The minute tick: owe due recovery emails, then let the worker send them."""
    owed = await recovery.send_due_recovery_emails(
        uow=notifier.uow(), queue=notifier.queue, clock=notifier.clock
    )
    await run_jobs(notifier)
    return owed


async def _carts(notifier: Notifier) -> int:
    async with notifier.engine.connect() as conn:
        return int(await conn.scalar(select(func.count()).select_from(abandoned_carts)) or 0)


async def test_with_recovery_off_nothing_is_recorded_or_sent(
    notifier: Notifier, clock: ManualClock, smtp: Any, run_jobs: Jobs, staged_events: Staged
) -> None:
    assert await _expire(notifier) is None
    clock.advance(timedelta(hours=2))
    assert await _tick(notifier, run_jobs) == 0
    assert await _carts(notifier) == 0
    assert smtp.messages == []
    assert await staged_events(notifier) == []


async def test_with_recovery_on_exactly_one_plain_text_email_is_sent_after_the_delay(
    notifier: Notifier, clock: ManualClock, smtp: Any, run_jobs: Jobs, staged_events: Staged
) -> None:
    await _recovery_on(notifier)
    cart = await _expire(notifier)
    (created,) = await staged_events(notifier)
    assert isinstance(created.data, AbandonedCartCreated)
    assert created.data.cart_id == cart.id

    clock.advance(timedelta(minutes=59))
    assert await _tick(notifier, run_jobs) == 0
    assert smtp.messages == []

    clock.advance(timedelta(minutes=2))
    assert await _tick(notifier, run_jobs) == 1
    clock.advance(timedelta(hours=5))
    assert await _tick(notifier, run_jobs) == 0

    (message,) = smtp.messages
    assert isinstance(message, EmailMessage)
    assert message.get_content_type() == "text/plain", "plain text only: no HTML, no pixels"
    assert message["From"] == "Sam's Prints <hello@samsprints.shop>"
    assert message["To"] == CUSTOMER
    body = message.get_content()
    assert "https://shop.example.com/products/mountain-tee" in body
    unsubscribe_url = notifier.composer.unsubscribe_url(CUSTOMER)
    assert unsubscribe_url in body
    assert message["List-Unsubscribe"] == f"<{unsubscribe_url}>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    sent = (await staged_events(notifier))[-1]
    assert isinstance(sent.data, AbandonedCartEmailSent)
    assert (sent.data.cart_id, sent.data.recipient) == (cart.id, CUSTOMER)


async def test_list_unsubscribe_headers_arrive_as_plain_ascii_for_one_click(
    make_notifier: Callable[..., Awaitable[Notifier]],
    clock: ManualClock,
    smtp: Any,
    run_jobs: Jobs,
) -> None:
    """RFC 8058: a mail client offers one-click only on the literal `<https://…>` form."""
    notifier = await make_notifier(public_base_url="https://notify.samsprints.shop")
    await _recovery_on(notifier)
    await _expire(notifier)
    clock.advance(timedelta(hours=1, minutes=1))
    assert await _tick(notifier, run_jobs) == 1

    (raw,) = smtp.raw
    url = notifier.composer.unsubscribe_url(CUSTOMER)
    assert url.startswith("https://") and len(f"List-Unsubscribe: <{url}>") > 78  # would fold
    lines = raw.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
    at = lines.index(f"List-Unsubscribe: <{url}>".encode())  # one line, no encoded-word
    assert lines[at + 1] == b"List-Unsubscribe-Post: List-Unsubscribe=One-Click"
    assert not lines[at + 2].startswith((b" ", b"\t")), "not folded onto a second line"
    assert all(b"=?" not in line for line in lines if line.startswith(b"List-"))

    received = message_from_bytes(raw, policy=policy.default)  # as a mail client parses it
    assert received["List-Unsubscribe"] == f"<{url}>"
    assert received["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "=?utf-8?" not in str(received.get_all("List-Unsubscribe"))


async def test_an_expiry_delivered_twice_makes_one_cart_and_one_email(
    notifier: Notifier, clock: ManualClock, smtp: Any, run_jobs: Jobs
) -> None:
    await _recovery_on(notifier)
    expiry = new_event(CheckoutExpired.example(), source="/services/ingest", time=clock.now())
    await _expire(notifier, expiry)
    assert await _expire(notifier, expiry) is None
    clock.advance(timedelta(hours=1))
    await _tick(notifier, run_jobs)
    await _tick(notifier, run_jobs)
    assert await _carts(notifier) == 1
    assert len(smtp.messages) == 1


async def test_an_unsubscribed_address_gets_no_recovery_email(
    notifier: Notifier, clock: ManualClock, smtp: Any, run_jobs: Jobs
) -> None:
    await _recovery_on(notifier)
    await _expire(notifier)
    token = notifier.tokens.issue(CUSTOMER)
    await suppression.unsubscribe(
        token=token, tokens=notifier.tokens, uow=notifier.uow(), clock=clock
    )
    clock.advance(timedelta(hours=1))
    assert await _tick(notifier, run_jobs) == 0
    assert smtp.messages == []


async def test_a_bounced_address_gets_no_recovery_email(
    notifier: Notifier, clock: ManualClock, smtp: Any, run_jobs: Jobs
) -> None:
    await _recovery_on(notifier)
    await _expire(notifier)
    bounce = new_event(
        EmailBounced(recipient="Customer@Example.com", email_kind="other"),
        source="/services/ingest",
    )
    await suppression.on_email_bounced(event=bounce, uow=notifier.uow(), clock=clock)
    clock.advance(timedelta(hours=1))
    assert await _tick(notifier, run_jobs) == 0
    assert smtp.messages == []


async def test_a_paid_order_in_between_cancels_the_recovery_email(
    notifier: Notifier, clock: ManualClock, smtp: Any, run_jobs: Jobs
) -> None:
    await _recovery_on(notifier)
    await _expire(notifier)
    clock.advance(timedelta(minutes=20))
    paid = new_event(OrderCreated.example(), source="/services/ingest", time=clock.now())
    await orders.on_order_created(event=paid, uow=notifier.uow(), queue=notifier.queue, clock=clock)
    clock.advance(timedelta(hours=1))
    assert await _tick(notifier, run_jobs) == 0
    assert [m["Subject"] for m in smtp.messages] == ["Thank you for your order SS-260223-0042"]
    async with notifier.engine.connect() as conn:
        assert await conn.scalar(select(abandoned_carts.c.closed_reason)) == "paid"


async def test_an_order_after_the_recovery_email_records_the_cart_as_recovered(
    notifier: Notifier, clock: ManualClock, run_jobs: Jobs, staged_events: Staged
) -> None:
    await _recovery_on(notifier)
    cart = await _expire(notifier)
    clock.advance(timedelta(hours=1))
    await _tick(notifier, run_jobs)
    clock.advance(timedelta(hours=3))
    order = new_event(OrderCreated.example(), source="/services/ingest", time=clock.now())
    for _ in range(2):  # redelivered: still one "recovered"
        await orders.on_order_created(
            event=order, uow=notifier.uow(), queue=notifier.queue, clock=clock
        )
    recovered = [e for e in await staged_events(notifier) if e.type == AbandonedCartRecovered.TYPE]
    assert len(recovered) == 1
    assert recovered[0].message == "Cart recovered — order SS-260223-0042 placed"
    assert recovered[0].data.cart_id == cart.id  # type: ignore[attr-defined]


async def test_unsubscribing_never_stops_order_emails(
    notifier: Notifier, clock: ManualClock, smtp: Any, run_jobs: Jobs
) -> None:
    token = notifier.tokens.issue(CUSTOMER)
    await suppression.unsubscribe(
        token=token, tokens=notifier.tokens, uow=notifier.uow(), clock=clock
    )
    order = new_event(OrderCreated.example(), source="/services/ingest")
    await orders.on_order_created(
        event=order, uow=notifier.uow(), queue=notifier.queue, clock=clock
    )
    await run_jobs(notifier)
    assert [m["To"] for m in smtp.messages] == [CUSTOMER]


async def test_pruning_removes_carts_older_than_30_days_only(
    notifier: Notifier, clock: ManualClock
) -> None:
    await _recovery_on(notifier)
    old = CheckoutExpired.example().model_copy(update={"checkout_session_id": "cs_old"})
    await _expire(notifier, new_event(old, source="/services/ingest", time=clock.now()))
    clock.advance(timedelta(days=20))
    recent = CheckoutExpired.example().model_copy(update={"checkout_session_id": "cs_recent"})
    await _expire(notifier, new_event(recent, source="/services/ingest", time=clock.now()))
    clock.advance(timedelta(days=10, minutes=1))

    pruned = await recovery.prune_abandoned_carts(
        uow=notifier.uow(), clock=clock, retention=notifier.settings.cart_retention
    )
    assert pruned == 1
    async with notifier.engine.connect() as conn:
        left = (await conn.scalars(select(abandoned_carts.c.checkout_session_id))).all()
    assert left == ["cs_recent"]
