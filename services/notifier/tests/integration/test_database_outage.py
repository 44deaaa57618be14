"""PostgreSQL goes away just after the mail server accepted an email (a real connection cut)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url

from shoptrail.events import Event, EventData, new_event
from shoptrail.events.failures import Backoff
from shoptrail.events.ingest import OrderCreated
from shoptrail.events.notifier import OrderConfirmationSent
from shoptrail.notifier.adapters.tables import emails
from shoptrail.notifier.bootstrap import Notifier
from shoptrail.notifier.service_layer import orders
from shoptrail.notifier.service_layer.delivery import Attempt, deliver_email
from shoptrail.notifier.service_layer.ports import Mailer
from shoptrail.testing.proxy import TcpProxy

pytestmark = pytest.mark.postgres


@dataclass(frozen=True)
class BackAfter(Backoff):
    """No sleeping: the database comes back when the recorder has waited `tries` times."""

    proxy: TcpProxy | None = None
    tries: int = 3
    waits: list[int] = field(default_factory=list)

    async def wait(self, attempt: int) -> float:
        self.waits.append(attempt)
        if attempt == self.tries and self.proxy is not None:
            await self.proxy.restore()
        return 0.0


class AcceptThenDatabaseGone(Mailer):
    def __init__(self, mailer: Mailer, proxy: TcpProxy) -> None:
        self._mailer, self._proxy = mailer, proxy

    async def send(self, message: EmailMessage) -> None:
        await self._mailer.send(message)
        await self._proxy.cut()


async def test_the_sent_record_waits_for_the_database_and_the_email_goes_once(
    database_url: str,
    make_notifier: Callable[..., Awaitable[Notifier]],
    smtp: Any,
    staged_events: Callable[[Notifier], Awaitable[list[Event[EventData]]]],
) -> None:
    url = make_url(database_url)
    async with TcpProxy(url.host or "127.0.0.1", url.port or 5432) as proxy:
        through_proxy = url.set(host="127.0.0.1", port=proxy.port)
        shop = await make_notifier(database_url=through_proxy.render_as_string(False))
        order = new_event(OrderCreated.example(), source="/services/ingest")
        await orders.on_order_created(
            event=order, uow=shop.uow(), queue=shop.queue, clock=shop.clock
        )
        backoff = BackAfter(proxy=proxy, tries=3)

        await deliver_email(
            email_id=order.id,
            attempt=Attempt("job", 1, 3),
            uow=shop.uow(),
            mailer=AcceptThenDatabaseGone(shop.mailer, proxy),
            composer=shop.composer,
            clock=shop.clock,
            queue=shop.queue,
            journal=shop.journal,
            backoff=backoff,
        )

        assert backoff.waits == [1, 2, 3], "retried while the database was away, then done"
        assert len(smtp.messages) == 1
        async with shop.engine.connect() as conn:
            status = await conn.scalar(select(emails.c.status).where(emails.c.id == order.id))
        assert status == "sent"
        (sent,) = await staged_events(shop)
        assert isinstance(sent.data, OrderConfirmationSent)
        assert await shop.journal.accepted([order.id]) == {order.id: sent.data.message_id}
