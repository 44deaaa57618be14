"""The per-client sender and the live tokens, without a network."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shoptrail.activity.realtime.client import Client, Frame, Interest
from shoptrail.activity.realtime.tokens import InvalidTokenError, mint, verify
from shoptrail.activity.realtime.wire import RawSocket
from shoptrail.testing.waiting import until

NOW = datetime(2026, 2, 16, 14, 0, tzinfo=UTC)


def entry(
    i: int, *, level: str = "error", order: str | None = "ord_1"
) -> tuple[dict[str, Any], str]:
    e = {"id": i, "level": level, "order_id": order, "message": f"m{i}"}
    return e, json.dumps(e)


class Recorder:
    def __init__(self, block: asyncio.Event | None = None) -> None:
        self.sent: list[dict[str, Any]] = []
        self._block = block

    async def __call__(self, message: str) -> None:
        if self._block is not None:
            await self._block.wait()
        self.sent.append(json.loads(message))


async def drive(client: Client, seconds: float) -> None:
    task = asyncio.create_task(client.run())
    await asyncio.sleep(seconds)
    task.cancel()


async def test_a_burst_of_badge_changes_is_coalesced() -> None:
    out = Recorder()
    client = Client(send=out, interest=Interest(), badge_gap=0.2)
    task = asyncio.create_task(client.run())
    for n in range(1, 50):
        client.offer(Frame(n, n, []))
        await asyncio.sleep(0.005)
    await asyncio.sleep(0.3)
    task.cancel()
    assert 1 <= len(out.sent) <= 4, "a storm must not flood the browser"
    assert out.sent[-1] == {"type": "badge", "seq": 49, "count": 49}


async def test_entries_follow_interest_and_a_changed_row_replaces_its_older_version() -> None:
    out = Recorder()
    feed = Client(send=out, interest=Interest(feed=True))
    feed.offer(Frame(1, 1, [entry(1), entry(2, level="debug")]))
    changed = (entry(1)[0] | {"message": "resolved"}, json.dumps({"id": 1, "v": 2}))
    feed.offer(Frame(2, 0, [changed]))
    await drive(feed, 0.1)
    assert out.sent == [{"type": "entries", "seq": 2, "count": 0, "entries": [{"id": 1, "v": 2}]}]

    other = Recorder()
    order_page = Client(send=other, interest=Interest(order_id="ord_2"))
    order_page.offer(Frame(1, 1, [entry(1), entry(3, order="ord_2")]))
    await drive(order_page, 0.1)
    assert [e["id"] for e in other.sent[0]["entries"]] == [3]


async def test_stale_changes_are_ignored() -> None:
    out = Recorder()
    client = Client(send=out, interest=Interest())
    client.offer(Frame(5, 2, []))
    client.offer(Frame(4, 9, []))
    await drive(client, 0.05)
    assert out.sent == [{"type": "badge", "seq": 5, "count": 2}]


async def test_a_slow_client_overflows_to_a_reload_without_blocking_offers() -> None:
    gate = asyncio.Event()
    out = Recorder(block=gate)
    client = Client(send=out, interest=Interest(feed=True), max_pending=10)
    task = asyncio.create_task(client.run())
    client.offer(Frame(1, 1, [entry(0)]))
    await asyncio.sleep(0.01)  # the sender is now stuck in send()
    for n in range(1, 30):
        client.offer(Frame(n + 1, 1, [entry(n)]))  # returns at once: the browser is stuck
    gate.set()
    await asyncio.sleep(0.2)
    task.cancel()
    assert [m["type"] for m in out.sent] == ["entries", "reload"]
    assert out.sent[-1]["seq"] == 30


class TestTokens:
    def test_round_trip(self) -> None:
        token, expires = mint(b"k", subject="alice", ttl=timedelta(minutes=5), now=NOW)
        claims = verify(b"k", token, now=NOW)
        assert claims.subject == "alice" and claims.expires_at == expires

    @pytest.mark.parametrize(
        ("secret", "mutate", "now", "reason"),
        [
            (b"other", lambda t: t, NOW, "bad signature"),
            (b"k", lambda t: "x" + t, NOW, "bad signature|malformed"),
            (b"k", lambda t: t.split(".")[0], NOW, "malformed"),
            (b"k", lambda t: t, NOW + timedelta(minutes=6), "expired"),
        ],
    )
    def test_refusals(self, secret: bytes, mutate: Any, now: datetime, reason: str) -> None:
        token, _ = mint(b"k", subject="alice", ttl=timedelta(minutes=5), now=NOW)
        with pytest.raises(InvalidTokenError, match=reason):
            verify(secret, mutate(token), now=now)


async def test_clients_in_sync_share_one_message_per_frame() -> None:
    frame = Frame(3, 1, [entry(1), entry(2)])
    first, second = Recorder(), Recorder()
    a = Client(send=first, interest=Interest(feed=True))
    b = Client(send=second, interest=Interest(feed=True))
    a.offer(frame)
    b.offer(frame)
    assert a._ready is b._ready is not None, "built once, shared"
    await drive(a, 0.05)
    await drive(b, 0.05)
    assert first.sent == second.sent
    assert [e["id"] for e in first.sent[0]["entries"]] == [1, 2]


async def test_a_send_stuck_past_the_timeout_ends_that_client_with_a_timeout() -> None:
    stuck = Client(send=Recorder(block=asyncio.Event()), interest=Interest(feed=True))
    stuck.send_timeout = 0.05
    task = asyncio.create_task(stuck.run())
    stuck.offer(Frame(1, 1, [entry(1)]))
    await asyncio.sleep(0.01)
    assert not stuck.check_stalled(time.monotonic())  # sending, but not for long yet
    await asyncio.sleep(0.06)
    assert stuck.check_stalled(time.monotonic())
    with pytest.raises(TimeoutError, match=r"longer than 0\.05s"):
        await task


async def test_an_idle_client_is_never_taken_for_a_stalled_one() -> None:
    idle = Client(send=Recorder(), interest=Interest(feed=True))
    idle.send_timeout = 0.01
    task = asyncio.create_task(idle.run())
    idle.offer(Frame(1, 1, [entry(1)]))
    await asyncio.sleep(0.05)
    assert not idle.check_stalled(time.monotonic())
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


class FakeSocket(RawSocket):
    """A connection's raw socket: records whole frames; `full` plays a peer that stopped reading."""

    def __init__(self) -> None:
        self.frames: list[bytes] = []
        self.full = False
        self._drained = asyncio.Event()
        self._drained.set()

    @property
    def ready(self) -> bool:
        return not self.full

    def write(self, frame: bytes) -> None:
        self.frames.append(frame)

    async def writable(self) -> None:
        await self._drained.wait()

    def fill(self) -> None:
        self.full = True
        self._drained.clear()

    def drain(self) -> None:
        self.full = False
        self._drained.set()

    def messages(self) -> list[dict[str, Any]]:
        return [json.loads(text_payload(f)) for f in self.frames]


def text_payload(frame: bytes) -> bytes:
    assert frame[0] == 0x81, "one unfragmented text frame"
    size, start = frame[1], 2
    if size == 126:
        size, start = int.from_bytes(frame[2:4], "big"), 4
    assert len(frame) == start + size, "unmasked, and nothing after it"
    return frame[start:]


async def started(*clients: Client) -> list[asyncio.Task[None]]:
    tasks = [asyncio.create_task(c.run()) for c in clients]
    await asyncio.sleep(0)
    return tasks


async def test_clients_in_sync_are_written_one_shared_frame_as_it_is_offered() -> None:
    sockets = [FakeSocket() for _ in range(3)]
    clients = [Client(send=Recorder(), interest=Interest(feed=True), raw=s) for s in sockets]
    tasks = await started(*clients)
    frame = Frame(3, 1, [entry(1), entry(2)])
    for client in clients:
        client.offer(frame)
    # Written there and then (no sender task ran in between), the same bytes for everyone.
    assert all(len(s.frames) == 1 for s in sockets)
    assert sockets[0].frames[0] is sockets[1].frames[0] is sockets[2].frames[0]
    assert sockets[0].messages() == [
        {"type": "entries", "seq": 3, "count": 1, "entries": [entry(1)[0], entry(2)[0]]}
    ]
    for task in tasks:
        task.cancel()


async def test_a_socket_that_stops_keeping_up_gets_the_backlog_merged_then_joins_in_again() -> None:
    socket, other = FakeSocket(), FakeSocket()
    slow = Client(send=Recorder(), interest=Interest(feed=True), raw=socket)
    fast = Client(send=Recorder(), interest=Interest(feed=True), raw=other)
    tasks = await started(slow, fast)
    socket.fill()
    for n in range(1, 6):
        for client in (slow, fast):
            client.offer(Frame(n, n, [entry(n)]))
    assert socket.frames == [] and len(other.frames) == 5, "the others are not held up"
    socket.drain()
    await until(lambda: bool(socket.frames), "the merged backlog written")
    slow.offer(Frame(6, 6, [entry(6)]))  # in sync again: written as offered
    assert socket.messages() == [
        {"type": "entries", "seq": 5, "count": 5, "entries": [entry(n)[0] for n in range(1, 6)]},
        {"type": "entries", "seq": 6, "count": 6, "entries": [entry(6)[0]]},
    ]
    for task in tasks:
        task.cancel()


async def test_a_socket_written_directly_still_gets_badge_changes_coalesced() -> None:
    socket = FakeSocket()
    client = Client(send=Recorder(), interest=Interest(), raw=socket, badge_gap=0.2)
    tasks = await started(client)
    for n in range(1, 50):
        client.offer(Frame(n, n, [entry(n)]))  # a badge-only page: entries it does not show
        await asyncio.sleep(0.005)
    await until(lambda: socket.messages()[-1:] == [{"type": "badge", "seq": 49, "count": 49}],
                "the last badge written")  # fmt: skip
    assert 1 <= len(socket.frames) <= 4, "a storm must not flood the browser"
    assert socket.messages()[-1] == {"type": "badge", "seq": 49, "count": 49}
    for task in tasks:
        task.cancel()
