"""A mail server that refuses our set-up, on real SMTP and PostgreSQL: emails are held, the
problem is said once, and fixing it sends every held email exactly once."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from email.headerregistry import Address
from email.message import EmailMessage
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from shoptrail.events import Event, EventData, new_event
from shoptrail.events.ingest import EmailBounced, OrderCreated
from shoptrail.events.notifier import OrderConfirmationSent
from shoptrail.events.system import OperatorActionCleared, OperatorActionNeeded
from shoptrail.notifier.adapters.smtp import SmtpMailer
from shoptrail.notifier.adapters.tables import emails, operator_problems, shop_settings
from shoptrail.notifier.bootstrap import Notifier, create_app
from shoptrail.notifier.domain import problems
from shoptrail.notifier.service_layer import orders
from shoptrail.notifier.service_layer.ports import OperatorActionError

pytestmark = pytest.mark.postgres

TOKEN = "test-service-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
SHOP_SENDER = "hello@samsprints.shop"
REFUSAL = "553 5.7.1 <hello@samsprints.shop>: Sender address rejected: not owned by user"
Staged = Callable[[Notifier], Awaitable[list[Event[EventData]]]]
Jobs = Callable[..., Awaitable[None]]


@pytest.fixture
async def shop(make_notifier: Callable[..., Awaitable[Notifier]]) -> Notifier:
    return await make_notifier(service_token=TOKEN)


@pytest.fixture
async def http(shop: Notifier) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(shop.settings, shop, run_consumers=False)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://notifier"
    ) as client:
        yield client


async def _orders(notifier: Notifier, count: int) -> list[Event[OrderCreated]]:
    events = []
    for number in range(count):
        order = OrderCreated.example().model_copy(
            update={
                "order_id": f"ord_{number}",
                "order_number": f"SS-{number}",
                "customer_email": f"customer{number}@example.com",
            }
        )
        event = new_event(order, source="/services/ingest")
        await orders.on_order_created(
            event=event, uow=notifier.uow(), queue=notifier.queue, clock=notifier.clock
        )
        events.append(event)
    return events


async def _statuses(notifier: Notifier) -> Counter[str]:
    async with notifier.engine.connect() as conn:
        return Counter((await conn.scalars(select(emails.c.status))).all())


def _of(events: list[Event[EventData]], data_type: type) -> list[Any]:
    return [event.data for event in events if isinstance(event.data, data_type)]


async def test_a_refused_sender_holds_emails_says_so_once_and_new_settings_send_each_once(
    shop: Notifier, http: httpx.AsyncClient, smtp: Any, run_jobs: Jobs, staged_events: Staged
) -> None:
    smtp.handler.refuse_senders[SHOP_SENDER] = REFUSAL
    await _orders(shop, 6)
    await run_jobs(shop, concurrency=3)  # some try at the same moment: still one error

    assert await _statuses(shop) == {"held": 6}
    assert smtp.messages == []
    staged = await staged_events(shop)
    (needed,) = _of(staged, OperatorActionNeeded)
    assert needed.problem == "notifier.smtp_sender_refused"
    assert "553" in needed.detail and "Sender address rejected" in needed.detail
    assert [e.type for e in staged] == [OperatorActionNeeded.TYPE], "no exhausted, no bounce"
    assert len(smtp.handler.senders) <= 3, "after the refusal, the rest wait untried"

    fixed = {"sender_name": "Sam's Prints", "sender_address": "orders@samsprints.shop"}
    assert (await http.put("/settings", json=fixed, headers=AUTH)).status_code == 200
    await run_jobs(shop, concurrency=3)
    await run_jobs(shop)  # anything the first success released as it cleared the problem

    assert await _statuses(shop) == {"sent": 6}
    assert Counter(m["To"] for m in smtp.messages) == Counter(
        f"customer{n}@example.com" for n in range(6)
    )
    assert len({m["Message-ID"] for m in smtp.messages}) == 6
    assert {m["From"].addresses[0].addr_spec for m in smtp.messages} == {fixed["sender_address"]}
    staged = await staged_events(shop)
    assert len(_of(staged, OperatorActionNeeded)) == 1
    (cleared,) = _of(staged, OperatorActionCleared)
    assert cleared.problem == "notifier.smtp_sender_refused"
    assert len(_of(staged, OrderConfirmationSent)) == 6
    async with shop.engine.connect() as conn:
        assert (await conn.scalars(select(operator_problems.c.problem))).all() == []


async def test_a_stored_non_ascii_sender_is_held_before_smtp_and_fixed_from_settings(
    make_notifier: Callable[..., Awaitable[Notifier]],
    ascii_smtp: Any,
    run_jobs: Jobs,
    staged_events: Staged,
) -> None:
    """The incident: a sender saved before the settings were checked, a server without SMTPUTF8."""
    shop = await make_notifier(service_token=TOKEN, smtp_port=ascii_smtp.port)
    async with shop.engine.begin() as conn:
        await conn.execute(update(shop_settings).values(sender_address="shöp@samsprints.shop"))
    await _orders(shop, 3)
    await run_jobs(shop)

    assert await _statuses(shop) == {"held": 3}
    assert ascii_smtp.handler.senders == [], "nothing a server would refuse is tried"
    (needed,) = _of(await staged_events(shop), OperatorActionNeeded)
    assert needed.problem == "notifier.sender_address_invalid"

    app = create_app(shop.settings, shop, run_consumers=False)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://notifier"
    ) as http:
        refused = await http.put(
            "/settings",
            json={"sender_name": "Sam", "sender_address": "shöp@samsprints.shop"},
            headers=AUTH,
        )
        assert refused.status_code == 422
        assert await _statuses(shop) == {"held": 3}, "a refused change releases nothing"
        fixed = {"sender_name": "Sam", "sender_address": "shop@samsprints.shop"}
        assert (await http.put("/settings", json=fixed, headers=AUTH)).status_code == 200
    await run_jobs(shop)

    assert await _statuses(shop) == {"sent": 3}
    assert len(ascii_smtp.messages) == 3
    assert len(_of(await staged_events(shop), OperatorActionCleared)) == 1


async def test_a_server_without_smtputf8_refusing_a_non_ascii_sender_is_an_operator_problem(
    ascii_smtp: Any,
) -> None:
    mailer = SmtpMailer(host="127.0.0.1", port=ascii_smtp.port, security="none", timeout=10)
    message = EmailMessage()
    message["From"] = Address("Sam", "shöp", "samsprints.shop")
    message["To"] = "customer@example.com"
    message["Subject"] = "Thank you for your order"
    message.set_content("Hello")

    with pytest.raises(OperatorActionError) as held:
        await mailer.send(message)
    assert held.value.problem.key == problems.SMTPUTF8_UNSUPPORTED
    assert "SMTPUTF8" in (held.value.problem.detail or "")


async def test_one_customers_non_ascii_mailbox_bounces_alone_and_holds_nothing(
    make_notifier: Callable[..., Awaitable[Notifier]],
    ascii_smtp: Any,
    run_jobs: Jobs,
    staged_events: Staged,
) -> None:
    shop = await make_notifier(smtp_port=ascii_smtp.port)
    unusual = OrderCreated.example().model_copy(
        update={"order_id": "ord_u", "customer_email": "jösé@example.com"}
    )
    await orders.on_order_created(
        event=new_event(unusual, source="/services/ingest"),
        uow=shop.uow(),
        queue=shop.queue,
        clock=shop.clock,
    )
    await _orders(shop, 2)
    await run_jobs(shop)

    assert await _statuses(shop) == {"bounced": 1, "sent": 2}
    staged = await staged_events(shop)
    assert _of(staged, OperatorActionNeeded) == []
    (bounced,) = _of(staged, EmailBounced)
    assert "SMTPUTF8" in bounced.reason


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({"smtp_security": "tls"}, problems.TLS_MISMATCH),
        ({"smtp_security": "starttls"}, problems.TLS_MISMATCH),
        ({"smtp_username": "shop", "smtp_password": "secret"}, problems.AUTH_REFUSED),
    ],
    ids=["tls-to-a-plain-server", "starttls-unsupported", "login-unsupported"],
)
async def test_a_connection_set_up_the_server_refuses_holds_emails(
    make_notifier: Callable[..., Awaitable[Notifier]],
    run_jobs: Jobs,
    staged_events: Staged,
    overrides: dict[str, str],
    problem: str,
) -> None:
    shop = await make_notifier(smtp_timeout_s=10, **overrides)
    await _orders(shop, 2)
    await run_jobs(shop)

    assert await _statuses(shop) == {"held": 2}
    staged = await staged_events(shop)
    assert [e.type for e in staged] == [OperatorActionNeeded.TYPE]
    assert _of(staged, OperatorActionNeeded)[0].problem == problem


async def test_emails_held_while_nothing_holds_them_any_more_are_released_by_the_tick(
    shop: Notifier, smtp: Any, run_jobs: Jobs
) -> None:
    from shoptrail.notifier.service_layer import holding

    (order,) = await _orders(shop, 1)
    await holding.hold_email(order.id, None, claimed=False, uow=shop.uow(), clock=shop.clock)
    assert await _statuses(shop) == {"held": 1}
    released = await holding.probe_held_emails(
        uow=shop.uow(), queue=shop.queue, clock=shop.clock, every=shop.settings.held_probe_every
    )
    assert released == 1
    await run_jobs(shop)
    assert await _statuses(shop) == {"sent": 1}
    assert len(smtp.messages) == 1
