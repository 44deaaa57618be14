"""What the fault suite sends into the shop, and how it counts what came out.

Orders go in as Stripe sends them: signed `checkout.session.completed`
webhooks, retried until ingest answers 2xx (a 503 means "not taken, try
again"). An order counts as *in* once ingest took it. It counts as *stored*
once it is in the activity log, submitted at the (fake) print provider and its
confirmation email is in the SMTP sink; more than one submission or email is
*doubled*; an order taken but not stored when the test ends is *missing*.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import random
import secrets
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import dev
import httpx
import pytest
import senders
from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.partitioner import DefaultPartitioner
from sqlalchemy.engine import make_url

from shoptrail.events.kafka_access import KafkaAccess, kafka_client_options
from shoptrail.testing.rawhttp import post_once
from tests.e2e.launcher import LaunchedShop

POISON_ORDER = "ord_fault_poison"
"""The order whose events the fulfilment consumer fails on (FULFILMENT_REHEARSE_FAILURES_FOR)."""

STACK = Path(__file__).resolve().parents[2] / "deploy" / "local" / "stack.py"
PARTITIONS = 3
SENDER_TIMEOUT_S = 15.0
"""How long a probe sender waits for an answer before counting it as none (status 0)."""
"""dev.py creates every event topic with three partitions."""


@dataclass
class Figures:
    """What one scenario measured."""

    scenario: str
    sent: int = 0
    stored: int = 0
    missing: int = 0
    doubled: int = 0
    recovery_s: dict[str, float] = field(default_factory=dict)
    notes: dict[str, Any] = field(default_factory=dict)

    def line(self) -> str:
        recovery = ", ".join(f"{k} {v:.1f} s" for k, v in self.recovery_s.items()) or "-"
        notes = ", ".join(f"{k} {v}" for k, v in self.notes.items())
        return (
            f"{self.scenario}: in {self.sent} · stored {self.stored} · missing {self.missing}"
            f" · doubled {self.doubled} · recovery: {recovery}" + (f" · {notes}" if notes else "")
        )

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


_CUSTOMERS = itertools.count(1)


def customer(tag: str) -> senders.Customer:
    return senders.Customer(
        name=f"Fault {tag}",
        # Unique by construction: mail is counted by recipient, and two orders sharing a
        # random 6-hex address (p ~ 0.2 % over 261 orders) once read as one order mailed
        # twice and another never mailed.
        email=f"fault-{tag}-{next(_CUSTOMERS)}-{secrets.token_hex(4)}@example.com",
        line1="1 High Street",
        city="Bristol",
        postal_code="BS1 1AA",
    )


def checkout(tag: str, *, order_id: str | None = None) -> senders.Checkout:
    items = (senders.Item("prod_tee_black", "Mountain Tee", 3800, "M Black"),)
    made = senders.Checkout(customer=customer(tag), items=items, provider="Printify")
    if order_id is not None:
        made = senders.Checkout(
            customer=made.customer, items=items, provider="Printify", order_id=order_id
        )
    return made


_PARTITIONER = DefaultPartitioner()


def partition_of(order_id: str, partitions: int = PARTITIONS) -> int:
    """The partition Kafka's default partitioner gives this key (as ingest's producer does)."""
    every = list(range(partitions))
    return int(_PARTITIONER(order_id.encode(), every, every))


def order_ids_on(partition: int, count: int, tag: str) -> list[str]:
    """`count` fresh order ids whose events land on `partition`."""
    found: list[str] = []
    while len(found) < count:
        candidate = f"ord_{tag}_{secrets.token_hex(5)}"
        if partition_of(candidate) == partition:
            found.append(candidate)
    return found


@dataclass(frozen=True)
class Attempt:
    """One webhook sent once by `Sender`: when it went and came back (monotonic s), and the
    answer (0: none)."""

    sent: float
    answered: float
    status: int
    retry_after: str | None = None

    @property
    def taken(self) -> bool:
        return 200 <= self.status < 300


class Sender:
    """Sends signed webhooks as their senders do: again after any non-2xx, until taken."""

    def __init__(self, shop: LaunchedShop) -> None:
        self.shop = shop
        self.secrets = dict(dev.DEV_SECRETS)
        self.http = httpx.AsyncClient(timeout=SENDER_TIMEOUT_S)
        self.taken: dict[str, float] = {}
        """Order id → when ingest answered 2xx."""
        self.refused = Counter[int]()
        """Non-2xx answers by status (0: no answer at all)."""
        self.attempts: list[Attempt] = []
        """Every webhook sent, in the order the answers came."""

    async def aclose(self) -> None:
        await self.http.aclose()

    async def stripe(self, body: bytes) -> httpx.Response:
        signature = senders.stripe_signature(body, self.secrets["stripe_webhook_secret"])
        return await self.http.post(
            f"{self.shop.urls['ingest']}/webhooks/stripe",
            content=body,
            headers={"Stripe-Signature": signature, "content-type": "application/json"},
        )

    async def until_taken(
        self,
        send: Callable[[], Awaitable[httpx.Response]],
        *,
        deadline: float,
        backing_off: bool = False,
    ) -> httpx.Response:
        """Send until a 2xx: every second, or `backing_off` as a provider resends a burst
        it was refused (after Retry-After, with jitter, doubling while refused, capped at a
        minute), so a thousand refused webhooks do not all come back in the same second."""
        pause = 1.0
        while True:
            hinted = 0.0
            sent = time.monotonic()
            try:
                response = await send()
            except httpx.HTTPError:
                self.refused[0] += 1
                self.attempts.append(Attempt(sent, time.monotonic(), 0))
            else:
                self.attempts.append(
                    Attempt(
                        sent,
                        time.monotonic(),
                        response.status_code,
                        response.headers.get("retry-after"),
                    )
                )
                if response.is_success:
                    return response
                assert response.status_code >= 500, f"refused for good: {response.text[:300]}"
                self.refused[response.status_code] += 1
                hinted = float(response.headers.get("retry-after", "0") or 0)
            if time.monotonic() > deadline:
                pytest.fail("ingest did not take a webhook before the deadline")
            if not backing_off:
                await asyncio.sleep(1.0)
                continue
            await asyncio.sleep(max(pause, hinted) * random.uniform(0.5, 1.5))
            pause = min(pause * 2, 60.0)

    async def order(
        self, made: senders.Checkout, *, within: float = 300.0, backing_off: bool = False
    ) -> None:
        body = senders.encode(senders.checkout_completed(made, embedded=True))
        await self.until_taken(
            lambda: self.stripe(body),
            deadline=time.monotonic() + within,
            backing_off=backing_off,
        )
        self.taken[made.order_id] = time.monotonic()

    async def raw_stripe(self, payload: dict[str, Any]) -> httpx.Response:
        return await self.stripe(senders.encode(payload))

    async def stream(
        self, tag: str, stop: asyncio.Event, *, rate: float = 2.0
    ) -> list[senders.Checkout]:
        """Orders at `rate` per second until `stop`, each sent until taken (concurrently)."""
        made: list[senders.Checkout] = []
        pending: set[asyncio.Task[None]] = set()
        while not stop.is_set():
            order = checkout(tag)
            made.append(order)
            task = asyncio.create_task(self.order(order))
            pending.add(task)
            task.add_done_callback(pending.discard)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(1 / rate):
                    await stop.wait()
        if pending:
            await asyncio.gather(*pending)
        return made


@dataclass
class Answer:
    """One webhook sent once: its status, when it was sent (epoch s) and how long it took."""

    status: int
    sent_at: float
    seconds: float
    retry_after: str | None


async def open_loop(
    sender: Sender, orders: list[senders.Checkout], rate: float, *, url: str | None = None
) -> list[Answer | None]:
    """Send each order's checkout webhook once, on a fixed schedule whatever the answers
    (an open loop, as Stripe sends), to ingest or to `url`; None where no answer came.

    Each on its own connection through `post_once`: a full client's CPU per request
    would queue in this process, on the shop's cores, and read as the shop's latency."""
    secret = sender.secrets["stripe_webhook_secret"]
    url = url or f"{sender.shop.urls['ingest']}/webhooks/stripe"
    answers: list[Answer | None] = [None] * len(orders)

    async def send(i: int, made: senders.Checkout) -> None:
        body = senders.encode(senders.checkout_completed(made, embedded=True))
        headers = {
            "Stripe-Signature": senders.stripe_signature(body, secret),
            "Content-Type": "application/json",
        }
        sent_at, started = time.time(), time.perf_counter()
        with contextlib.suppress(OSError, TimeoutError):
            answer = await post_once(url, body, headers)
            answers[i] = Answer(
                answer.status,
                sent_at,
                time.perf_counter() - started,
                answer.headers.get("retry-after"),
            )

    with ahead_of_the_shop():
        begun = time.monotonic()
        sends = []
        for i, made in enumerate(orders):
            # The schedule, not the answers, sets the pace.
            await asyncio.sleep(max(0.0, begun + i / rate - time.monotonic()))
            sends.append(asyncio.create_task(send(i, made)))
        await asyncio.gather(*sends)
    return answers


SENDER_NICE = -10


@contextlib.contextmanager
def ahead_of_the_shop() -> Iterator[None]:
    """Run this process ahead of the shop's while it sends a burst.

    The senders' CPU is not the shop's: Stripe sends from its own machines. Here
    the sender shares two cores with every process of the shop, and when the
    shop is past its capacity, an equal share left the sender 3,000 webhooks
    due in 10 s still sending after 28 s, and the time its own tasks waited
    read as the shop's latency (p50 9.5 s while ingest answered within 1 s).
    Without the right to raise its priority (not root), it sends as it can."""
    before = os.getpriority(os.PRIO_PROCESS, 0)
    try:
        os.setpriority(os.PRIO_PROCESS, 0, SENDER_NICE)
    except PermissionError:
        yield
        return
    try:
        yield
    finally:
        os.setpriority(os.PRIO_PROCESS, 0, before)


async def ingest_shed(shop: LaunchedShop) -> dict[str, int]:
    """What ingest's /metrics says it refused at its door so far, by reason."""
    async with httpx.AsyncClient(timeout=30) as http:
        text = (await http.get(f"{shop.urls['ingest']}/metrics")).text
    shed = {}
    for line in text.splitlines():
        if line.startswith("ingest_webhooks_shed_total{"):
            reason = line.split('reason="', 1)[1].split('"', 1)[0]
            shed[reason] = int(float(line.rsplit(" ", 1)[1]))
    return shed


@dataclass
class Outcome:
    logged: int = 0
    submitted: int = 0
    mailed: int = 0

    @property
    def complete(self) -> bool:
        return self.logged >= 1 and self.submitted >= 1 and self.mailed >= 1

    @property
    def doubled(self) -> bool:
        return self.logged > 1 or self.submitted > 1 or self.mailed > 1


class Looker:
    """Reads what the shop did, from its own stores and its fake outside world."""

    def __init__(self, shop: LaunchedShop) -> None:
        self.shop = shop
        self.http = httpx.AsyncClient(timeout=30)
        self.activity_dsn = dsn(shop, "activity")

    async def aclose(self) -> None:
        await self.http.aclose()

    async def outcomes(self, orders: Iterable[senders.Checkout]) -> dict[str, Outcome]:
        orders = list(orders)
        result = {o.order_id: Outcome() for o in orders}
        connection = await asyncpg.connect(self.activity_dsn)
        try:
            rows = await connection.fetch(
                "SELECT order_id, count(*) AS n FROM activity_log "
                "WHERE event_type = 'order.created' AND order_id = ANY($1) GROUP BY 1",
                list(result),
            )
        finally:
            await connection.close()
        for row in rows:
            result[row["order_id"]].logged = row["n"]
        provider = await self.http.get(f"{self.shop.urls['fake-provider']}/_fake/orders")
        for submitted in provider.json():
            if submitted["external_id"] in result:
                result[submitted["external_id"]].submitted += 1
        mail = await self.http.get(f"{self.shop.urls['mail']}/api/messages")
        # By recipient: each test customer's address is unique; order numbers (four hex
        # digits) are not, over a few hundred orders and several tests on one shop.
        by_address = {o.customer.email: o.order_id for o in orders if o.customer}
        for message in mail.json():
            if not message["subject"].startswith("Thank you for your order"):
                continue
            for recipient in message["recipients"]:
                if recipient in by_address:
                    result[by_address[recipient]].mailed += 1
        return result

    async def settled(
        self, orders: list[senders.Checkout], figures: Figures, *, timeout: float
    ) -> float:
        """Wait until every order is stored; record the counts; seconds it took."""
        started = time.monotonic()
        deadline = started + timeout
        while True:
            outcomes = await self.outcomes(orders)
            if all(o.complete for o in outcomes.values()) or time.monotonic() > deadline:
                break
            await asyncio.sleep(1.0)
        # Anything doubled by a late redelivery would land within a few polls.
        await asyncio.sleep(3.0)
        outcomes = await self.outcomes(orders)
        figures.sent = len(orders)
        figures.stored = sum(o.complete for o in outcomes.values())
        figures.missing = figures.sent - figures.stored
        figures.doubled = sum(o.doubled for o in outcomes.values())
        incomplete = {k: v for k, v in outcomes.items() if not v.complete}
        assert not incomplete, f"missing after {timeout:.0f} s: {list(incomplete.items())[:5]}"
        doubled = {k: v for k, v in outcomes.items() if v.doubled}
        assert not doubled, f"doubled: {list(doubled.items())[:5]}"
        return time.monotonic() - started

    async def provider_order_id(self, order_id: str, timeout: float = 120.0) -> str:
        """The id the (fake) provider gave our order, once it was submitted."""

        async def submitted() -> str | None:
            orders = (await self.http.get(f"{self.shop.urls['fake-provider']}/_fake/orders")).json()
            ids = [str(o["id"]) for o in orders if o["external_id"] == order_id]
            return ids[0] if ids else None

        found: str = await eventually(submitted, timeout=timeout, what=f"{order_id} submitted")
        return found

    async def entries(self, **params: Any) -> list[dict[str, Any]]:
        response = await self.http.get(
            f"{self.shop.urls['activity']}/api/feed",
            params={"limit": 200, "include_debug": "true", **params},
            headers={"Authorization": f"Bearer {dev.DEV_SECRETS['activity_token']}"},
        )
        assert response.status_code == 200, response.text
        entries: list[dict[str, Any]] = response.json()["entries"]
        return entries

    async def timeline(self, order_id: str) -> list[dict[str, Any]]:
        response = await self.http.get(
            f"{self.shop.urls['activity']}/api/orders/{order_id}/timeline",
            headers={"Authorization": f"Bearer {dev.DEV_SECRETS['activity_token']}"},
        )
        assert response.status_code == 200, response.text
        body = response.json()
        entries: list[dict[str, Any]] = body["entries"] if isinstance(body, dict) else body
        return entries

    async def admin_pages_answer(self, order_id: str) -> None:
        """The shop owner's admin serves its pages (logged in as the dev account)."""
        user, password = dev.ADMIN_LOGIN
        base = self.shop.urls["admin-ui"]
        async with httpx.AsyncClient(base_url=base, timeout=30) as admin:
            login = await admin.get("/admin/login")
            token = login.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
            answer = await admin.post(
                "/admin/login",
                data={"username": user, "password": password, "csrf_token": token},
            )
            assert answer.status_code == 303, answer.text[:300]
            for path in ("/admin/activity", "/admin/orders", f"/admin/orders/{order_id}"):
                page = await admin.get(path)
                assert page.status_code == 200, f"{path}: {page.status_code}"

    async def consumer_lag(self, groups: dict[str, list[str]]) -> dict[str, int]:
        """Messages not yet committed by each group on the topics it reads."""
        admin = AIOKafkaAdminClient(**kafka_client_options(self.shop.kafka))
        await admin.start()
        try:
            lag: dict[str, int] = {}
            for group, topics in groups.items():
                committed = await admin.list_consumer_group_offsets(group)
                ends = await _end_offsets(self.shop.kafka, topics)
                lag[group] = sum(
                    end - (committed[tp].offset if tp in committed else 0)
                    for tp, end in ends.items()
                )
            return lag
        finally:
            await admin.close()


async def _end_offsets(kafka: KafkaAccess, topics: list[str]) -> dict[TopicPartition, int]:
    from aiokafka import AIOKafkaConsumer

    consumer = AIOKafkaConsumer(**kafka_client_options(kafka), group_id=None)
    await consumer.start()
    try:
        partitions = [TopicPartition(t, p) for t in topics for p in range(PARTITIONS)]
        return dict(await consumer.end_offsets(partitions))
    finally:
        await consumer.stop()


def dsn(shop: LaunchedShop, service: str) -> str:
    """A service's own database, as asyncpg wants it."""
    url = shop.planned[service].env[f"{service.upper()}_DATABASE_URL"]
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def eventually(
    check: Callable[[], Awaitable[Any]], *, timeout: float, what: str, every: float = 0.5
) -> Any:
    """Poll `check` until it returns something truthy; fail with `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = await check()
        except (httpx.HTTPError, OSError, asyncpg.PostgresError) as exc:
            last = f"{type(exc).__name__}: {exc}"  # the thing may be away; say so if it stays
        else:
            if last:
                return last
        await asyncio.sleep(every)
    pytest.fail(f"{what} not within {timeout:.0f} s (last: {last!r})")


# --- the infrastructure, stopped and started as an operator would ------------


async def stack(shop: LaunchedShop, command: str, component: str, *options: str) -> None:
    """`stack.py <command> <component>` for the shop's own Kafka or PostgreSQL
    (`stack(shop, "stop-broker", "2", "--kill")`: one broker of a cluster)."""
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, str(STACK), command, component, *options],
        env=shop.env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, f"stack.py {command} {component}:\n{done.stdout}\n{done.stderr}"


def kill(shop: LaunchedShop, name: str) -> None:
    """SIGKILL a service's whole process group, as the kernel's OOM killer would."""
    process = shop.running.pop(name)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


async def ready(shop: LaunchedShop, timeout: float = 180.0) -> None:
    """Every process answers its readiness check (and none has exited)."""
    await shop.wait_ready(list(shop.running), timeout=timeout)
