"""Live badge and feed over WebSockets, across two replicas, on real Kafka."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import make_url
from sqlalchemy.ext.asyncio import AsyncEngine
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from shoptrail.activity.adapters.changes import ChangeLog
from shoptrail.activity.adapters.store import PostgresLogStore
from shoptrail.activity.domain.entries import entry_from_event
from shoptrail.activity.realtime.hub import Hub
from shoptrail.activity.realtime.tokens import mint
from shoptrail.events import new_event
from shoptrail.events.fulfilment import OrderShipped, OrderSubmissionFailed

from ..conftest import LIVE_ORIGIN, LIVE_SECRET, TOKEN, replica_env, serve_replica

pytestmark = [pytest.mark.kafka, pytest.mark.postgres, pytest.mark.slow]

ORIGIN, SECRET = LIVE_ORIGIN, LIVE_SECRET


@dataclass
class Replica:
    http: str
    ws: str


@pytest.fixture
async def replicas(
    engine: AsyncEngine, database_url: str, namespace: Any
) -> AsyncIterator[tuple[Replica, Replica]]:
    """Two activity processes: one database, one consumer group, partitions split between them."""
    env = replica_env(database_url, namespace, ACTIVITY_WS_CATCH_UP_LIMIT="5")
    started = [await serve_replica(env), await serve_replica(env)]
    try:
        a, b = (Replica(base, base.replace("http://", "ws://") + "/ws") for _, base in started)
        yield a, b
    finally:
        for proc, _ in started:
            proc.terminate()
        for proc, _ in started:
            proc.wait(timeout=30)


def live_token(ttl: float = 300) -> str:
    token, _ = mint(
        SECRET.encode(), subject="alice", ttl=timedelta(seconds=ttl), now=datetime.now(UTC)
    )
    return token


@dataclass
class Live:
    """A browser's socket: every message it received, in order."""

    conn: ClientConnection
    messages: list[dict[str, Any]] = field(default_factory=list)
    closed: asyncio.Future[tuple[int | None, str | None]] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )

    async def pump(self) -> None:
        try:
            async for raw in self.conn:
                self.messages.append(json.loads(raw))
        except ConnectionClosed:
            pass
        if not self.closed.done():
            self.closed.set_result((self.conn.close_code, self.conn.close_reason))

    @property
    def count(self) -> int | None:
        return self.messages[-1]["count"] if self.messages else None

    @property
    def seq(self) -> int:
        return int(self.messages[-1]["seq"])

    def entries(self) -> list[dict[str, Any]]:
        return [e for m in self.messages if m["type"] == "entries" for e in m["entries"]]

    async def until(self, check: Callable[[Live], bool], timeout: float = 20) -> None:
        try:
            async with asyncio.timeout(timeout):
                while not check(self):
                    await asyncio.sleep(0.02)
        except TimeoutError:
            pytest.fail(f"not seen within {timeout}s; received: {self.messages}")


def auth(token: str) -> str:
    return json.dumps({"type": "auth", "token": token})


@contextlib.asynccontextmanager
async def live(
    replica: Replica, query: str = "", token: str | None = None, *, in_url: bool = False
) -> AsyncIterator[Live]:
    """A socket as the admin's page opens it: the token in the first message, not the URL."""
    token = token or live_token()
    url = f"{replica.ws}?token={token}{query}" if in_url else f"{replica.ws}?{query.lstrip('&')}"
    async with connect(url, origin=ORIGIN) as conn:  # type: ignore[arg-type]
        if not in_url:
            await conn.send(auth(token))
        client = Live(conn)
        task = asyncio.create_task(client.pump())
        await client.until(lambda c: bool(c.messages))
        assert client.messages[0]["type"] == "hello"
        try:
            yield client
        finally:
            task.cancel()


def failure(order: str) -> Any:
    data = OrderSubmissionFailed(
        order_id=order, provider="Printify", reason="out of stock", attempt=1, max_attempts=3
    )
    return new_event(data, source="/tests")


async def test_an_error_reaches_every_replica_and_a_resolve_on_b_lowers_the_badge_on_a(
    replicas: tuple[Replica, Replica], namespace: Any
) -> None:
    a, b = replicas
    async with (
        live(a, "&feed=1") as feed_on_a,
        live(b) as badge_on_b,
        live(b, "&feed=1") as feed_on_b,
    ):
        assert feed_on_a.count == badge_on_b.count == 0
        error = failure("ord_live_1")
        await namespace.publish([error])
        for client in (feed_on_a, badge_on_b, feed_on_b):
            await client.until(lambda c: c.count == 1)
        (entry,) = feed_on_a.entries()
        assert entry["event_id"] == str(error.id)
        assert entry["message"] == "Submission to Printify failed: out of stock"
        assert badge_on_b.entries() == [], "badge-only clients get counts, not entries"

        async with httpx.AsyncClient(headers={"Authorization": f"Bearer {TOKEN}"}) as http:
            resolved = await http.post(f"{b.http}/api/entries/{entry['id']}/resolve", json={})
        assert resolved.status_code == 200
        await feed_on_a.until(lambda c: c.count == 0)
        changed = feed_on_a.entries()[-1]
        assert changed["id"] == entry["id"] and changed["resolution"] == "resolved"
        seqs = [m["seq"] for m in feed_on_a.messages]
        assert seqs == sorted(seqs) and len(set(seqs[1:])) == len(seqs) - 1


async def test_a_reconnecting_client_gets_what_it_missed_or_a_reload_when_too_far_behind(
    replicas: tuple[Replica, Replica], namespace: Any
) -> None:
    a, b = replicas
    async with live(a, "&feed=1") as first:
        last_seen = first.seq
    missed = [new_event(OrderShipped.example(), source="/t") for _ in range(3)]
    async with live(b, "&feed=1") as watcher:
        await namespace.publish(missed)
        await watcher.until(lambda c: c.seq >= last_seen + 1)
        await asyncio.sleep(0.5)  # let both replicas commit their share
    async with live(b, f"&feed=1&since={last_seen}") as back:
        await back.until(
            lambda c: {e["event_id"] for e in c.entries()} >= {str(e.id) for e in missed}
        )
        assert back.seq > last_seen

    await namespace.publish([new_event(OrderShipped.example(), source="/t") for _ in range(8)])
    async with live(a, "&feed=1") as watcher:
        await watcher.until(lambda c: c.seq >= last_seen + 2)
        await asyncio.sleep(1)
    async with live(a, f"&feed=1&since={last_seen}") as far_behind:
        await far_behind.until(lambda c: any(m["type"] == "reload" for m in c.messages))


async def test_wrong_origin_missing_or_forged_tokens_are_refused(
    replicas: tuple[Replica, Replica],
) -> None:
    a, _ = replicas
    cases = [
        (f"{a.ws}?token={live_token()}", "http://evil.example"),
        (f"{a.ws}?token={live_token()}", None),
        (f"{a.ws}", "http://evil.example"),
        (f"{a.ws}?token={live_token()[:-3]}abc", ORIGIN),
        (f"{a.ws}?token={live_token(ttl=-5)}", ORIGIN),
    ]
    for url, origin in cases:
        with pytest.raises(InvalidStatus) as refused:
            async with connect(url, origin=origin):  # type: ignore[arg-type]
                pass
        assert refused.value.response.status_code == 403, (url, origin)
    # Without a token in the URL the first message must carry one.
    for first in ('{"type": "hello"}', "not json", auth(live_token()[:-3] + "abc")):
        async with connect(a.ws, origin=ORIGIN) as conn:  # type: ignore[arg-type]
            await conn.send(first)
            with pytest.raises(ConnectionClosed):
                await asyncio.wait_for(conn.recv(), 30)
            assert (conn.close_code, conn.close_reason) == (4001, "invalid token"), first


async def test_a_connection_closes_when_its_token_expires_and_chatty_clients_are_cut_off(
    replicas: tuple[Replica, Replica],
) -> None:
    a, _ = replicas
    async with live(a, token=live_token(ttl=2)) as expiring:
        code, reason = await asyncio.wait_for(expiring.closed, 10)
    assert (code, reason) == (4001, "token expired")
    async with live(a) as big:
        await big.conn.send("x" * 10_000)
        assert (await asyncio.wait_for(big.closed, 10))[0] == 1009
    async with live(a) as chatty:
        with contextlib.suppress(ConnectionClosed):
            for _ in range(50):
                await chatty.conn.send("ping")
        assert (await asyncio.wait_for(chatty.closed, 10))[0] == 1008


async def test_the_token_endpoint_needs_the_service_token(
    replicas: tuple[Replica, Replica],
) -> None:
    a, _ = replicas
    async with httpx.AsyncClient() as http:
        refused = await http.post(f"{a.http}/api/ws-tokens", json={})
        granted = await http.post(
            f"{a.http}/api/ws-tokens", json={}, headers={"Authorization": f"Bearer {TOKEN}"}
        )
    assert refused.status_code == 401
    assert granted.json()["url"].endswith("/ws")
    async with live(a, token=granted.json()["token"]) as ok:
        assert ok.messages[0]["type"] == "hello"
    async with live(a, token=granted.json()["token"], in_url=True) as scripted:
        assert scripted.messages[0]["type"] == "hello"


async def test_the_hub_stops_even_when_a_change_arrives_as_it_is_cancelled(
    engine: AsyncEngine, database_url: str
) -> None:
    """On Python 3.11 `asyncio.wait_for` lost a cancel that coincided with a wake-up,
    and stopping the service hung forever (seen in CI)."""
    dsn = make_url(database_url).set(drivername="postgresql")
    hub = Hub(ChangeLog(engine), dsn.render_as_string(hide_password=False), poll=60)
    for _ in range(3):
        await hub.start()
        await asyncio.sleep(0.3)  # the hub is now waiting for a notification
        hub._wake.set()  # a change is announced in the same tick as the stop
        stopping = asyncio.create_task(hub.stop())
        done, _ = await asyncio.wait({stopping}, timeout=3)
        if not done:
            stopping.cancel()
            pytest.fail("the hub did not stop")


class CountingChangeLog(ChangeLog):
    """The real change log, counting how often the hub asks it something."""

    def __init__(self, engine: AsyncEngine) -> None:
        super().__init__(engine)
        self.asked: list[str] = []

    async def latest(self) -> int:
        self.asked.append("latest")
        return await super().latest()

    async def attention_count(self) -> int:
        self.asked.append("attention_count")
        return await super().attention_count()


async def test_a_hub_nobody_is_connected_to_follows_the_changes_without_reading_them(
    engine: AsyncEngine, database_url: str
) -> None:
    """A replica that only consumes pays nothing per commit for live updates: the change
    numbers come with the notifications, and the count is read when a client says hello.
    (Reading both after every commit cost the consumer about 5% of its CPU.)"""
    dsn = make_url(database_url).set(drivername="postgresql")
    changes = CountingChangeLog(engine)
    hub = Hub(changes, dsn.render_as_string(hide_password=False), poll=60, frame_interval=0.01)
    await hub.start()
    try:
        await asyncio.sleep(0.3)  # listening, and caught up with the numbering
        asked_before = list(changes.asked)
        store = PostgresLogStore(engine)
        for n in range(5):
            failed = OrderSubmissionFailed.example().model_copy(update={"order_id": f"ord_{n}"})
            await store.write([entry_from_event(new_event(failed, source="/t"))])
        latest = await ChangeLog(engine).latest()
        deadline = time.monotonic() + 10
        while hub.seq < latest and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        assert hub.seq == latest
        assert changes.asked == asked_before  # five commits, not one question
        assert await hub.hello() == (latest, 1)  # five alike failures: one group
        assert changes.asked == [*asked_before, "attention_count"]
    finally:
        await hub.stop()


class Sessions:
    """What the admin UI does with activity's session API (service token in every call)."""

    def __init__(self, replica: Replica) -> None:
        self.http = httpx.AsyncClient(
            base_url=replica.http, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30
        )

    async def start(self, lifetime_s: int = 3600, idle_s: int = 3600) -> str:
        made = await self.http.post(
            "/api/sessions", json={"user": "alice", "lifetime_s": lifetime_s, "idle_s": idle_s}
        )
        assert made.status_code == 201, made.text
        return str(made.json()["session"])

    async def token(self, session: str) -> httpx.Response:
        return await self.http.post("/api/ws-tokens", json={"subject": "alice", "session": session})

    async def seen(self, session: str) -> int:
        return (await self.http.post("/api/sessions/seen", json={"session": session})).status_code

    async def revoke(self, session: str) -> None:
        revoked = await self.http.post("/api/sessions/revoke", json={"session": session})
        assert revoked.status_code == 204


async def test_logout_closes_the_sessions_sockets_on_every_replica_and_its_tokens_stop_working(
    replicas: tuple[Replica, Replica],
) -> None:
    a, b = replicas
    sessions = Sessions(a)
    try:
        mine, other = await sessions.start(), await sessions.start()
        token = (await sessions.token(mine)).json()["token"]
        spare = (await sessions.token(mine)).json()["token"]  # minted before logout
        untouched = (await sessions.token(other)).json()["token"]
        async with (
            live(a, "&feed=1", token=token) as on_a,
            live(b, "&feed=1", token=token) as on_b,
            live(b, token=untouched) as someone_else,
        ):
            loop = asyncio.get_running_loop()
            logged_out = loop.time()
            await sessions.revoke(mine)
            closed = await asyncio.wait_for(asyncio.gather(on_a.closed, on_b.closed), 30)
            took = loop.time() - logged_out
            assert list(closed) == [(4001, "session ended")] * 2
            assert not someone_else.closed.done()
            print(f"sockets on two replicas closed {took:.2f} s after logout")

        assert await sessions.seen(mine) == 404
        assert (await sessions.token(mine)).status_code == 404
        async with connect(a.ws, origin=ORIGIN) as conn:  # type: ignore[arg-type]
            await conn.send(auth(spare))
            with pytest.raises(ConnectionClosed):
                await asyncio.wait_for(conn.recv(), 30)
            assert (conn.close_code, conn.close_reason) == (4001, "session ended")
        assert await sessions.seen(other) == 200
    finally:
        await sessions.http.aclose()


async def test_a_session_past_its_lifetime_or_idle_ends_and_so_do_its_sockets(
    replicas: tuple[Replica, Replica],
) -> None:
    a, _ = replicas
    sessions = Sessions(a)
    try:
        short = await sessions.start(lifetime_s=3)
        token = (await sessions.token(short)).json()["token"]
        async with live(a, token=token) as socket:
            assert await asyncio.wait_for(socket.closed, 60) == (4001, "session ended")
        assert await sessions.seen(short) == 404

        idle = await sessions.start(idle_s=2)
        async with live(a, token=(await sessions.token(idle)).json()["token"]) as socket:
            # The socket is not a person: it does not keep the session from idling out.
            assert await asyncio.wait_for(socket.closed, 60) == (4001, "session ended")
        assert await sessions.seen(idle) == 404
    finally:
        await sessions.http.aclose()


async def test_one_session_holds_at_most_ten_sockets_per_replica(
    replicas: tuple[Replica, Replica],
) -> None:
    a, _ = replicas
    sessions = Sessions(a)
    try:
        token = (await sessions.token(await sessions.start())).json()["token"]
        async with contextlib.AsyncExitStack() as stack:
            opened = [await stack.enter_async_context(live(a, token=token)) for _ in range(10)]
            assert all(s.messages[0]["type"] == "hello" for s in opened)
            async with connect(a.ws, origin=ORIGIN) as conn:  # type: ignore[arg-type]
                await conn.send(auth(token))
                with pytest.raises(ConnectionClosed):
                    await asyncio.wait_for(conn.recv(), 30)
                assert conn.close_code == 1008
                assert "at most 10" in (conn.close_reason or "")
    finally:
        await sessions.http.aclose()
