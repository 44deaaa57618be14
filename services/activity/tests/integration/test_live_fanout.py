"""The live endpoint's fan-out on real sockets: uvicorn as `serve` runs it, real clients.

No Kafka or PostgreSQL: the hub reads its changes from an in-memory log, so a
test can offer hundreds of large frames at once and look at what each socket got.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import create_async_engine
from websockets.asyncio.client import ClientConnection, connect

from shoptrail.activity.adapters.changes import Change, ChangeLog
from shoptrail.activity.adapters.sessions import SessionStore
from shoptrail.activity.config import Settings
from shoptrail.activity.entrypoints import ws
from shoptrail.activity.realtime.client import Client
from shoptrail.activity.realtime.hub import Hub
from shoptrail.activity.realtime.sessions import SessionWatch
from shoptrail.activity.realtime.tokens import mint
from shoptrail.kit.serving import served
from shoptrail.testing.waiting import until

ORIGIN = "http://admin.test"
SECRET = "test-ws-secret"
BIG = "x" * 16000  # entries this size fill a socket's buffers after a few hundred frames


class MemoryChangeLog(ChangeLog):
    """Entries as the log would hold them, every one needing attention."""

    def __init__(self) -> None:
        super().__init__(engine=None)  # type: ignore[arg-type]
        self.rows: dict[int, dict[str, Any]] = {}

    def add(self, entry_id: int) -> Change:
        self.rows[entry_id] = {
            "id": entry_id, "event_id": uuid4(), "event_type": "order.submission_failed",
            "category": "fulfilment", "level": "error", "order_id": f"ord_{entry_id}",
            "message": f"{entry_id} {BIG}", "occurred_at": datetime.now(UTC),
            "resolved_at": None, "resolution": None, "resolution_note": None,
            "needs_attention": True,
        }  # fmt: skip
        return Change(entry_id, "entries", [entry_id])

    async def entries(self, ids: list[int]) -> list[dict[str, Any]]:
        return [self.rows[i] for i in ids]

    async def attention_count(self) -> int:
        return len(self.rows)

    async def latest(self) -> int:
        return max(self.rows, default=0)


@contextlib.asynccontextmanager
async def served_live(hub: Hub) -> AsyncIterator[str]:
    """The live endpoint alone, served as `shoptrail-activity serve` serves it."""
    app = FastAPI()
    app.include_router(ws.router)
    app.state.settings = Settings(
        environment="test", ws_token_secret=SECRET, ws_allowed_origins=ORIGIN
    )
    app.state.hub = hub
    app.state.session_watch = SessionWatch(
        SessionStore(create_async_engine("postgresql+asyncpg://"))
    )
    async with served(
        app, ws="websockets-sansio", ws_max_queue=4, ws_per_message_deflate=False
    ) as url:
        yield url.replace("http://", "ws://") + "/ws?feed=1"


def token() -> str:
    minted, _ = mint(SECRET.encode(), subject="t", ttl=timedelta(minutes=5), now=datetime.now(UTC))
    return minted


async def read_all(conn: ClientConnection, into: list[dict[str, Any]]) -> None:
    async for raw in conn:
        into.append(json.loads(raw))


async def stuck_socket(url: str) -> socket.socket:
    """A browser tab that opened the socket and then never reads another byte."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    loop = asyncio.get_running_loop()
    await loop.sock_connect(sock, ("127.0.0.1", int(url.split(":")[2].split("/")[0])))
    path = url.split("/", 3)[3]
    await loop.sock_sendall(
        sock,
        f"GET /{path} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
        f"Origin: {ORIGIN}\r\n\r\n".encode(),
    )
    head = b""
    while b"\r\n\r\n" not in head:
        head += await loop.sock_recv(sock, 1)  # the handshake, and not a byte more
    assert b" 101 " in head
    frame = json.dumps({"type": "auth", "token": token()}).encode()
    mask = b"\x00\x00\x00\x00"  # a client must mask; a zero mask leaves the payload as is
    assert len(frame) < 126  # the one-byte length form
    header = bytes([0x81, 0x80 | len(frame)])
    await loop.sock_sendall(sock, header + mask + frame)
    return sock


async def test_a_client_that_stops_reading_neither_delays_the_others_nor_grows_without_bound() -> (
    None
):
    """Clients in sync are written each frame's shared bytes as the hub offers it; one that
    stops reading stops being written to once its buffer is full, piles up no more than
    `max_pending` entries, and is told to reload: the others get every entry, in order."""
    changes = MemoryChangeLog()
    hub = Hub(changes, "postgresql://unused")
    async with served_live(hub) as url:
        stuck = await stuck_socket(url)
        received: list[list[dict[str, Any]]] = [[] for _ in range(3)]
        async with contextlib.AsyncExitStack() as stack:
            readers = []
            for messages in received:
                conn = await stack.enter_async_context(connect(url, origin=ORIGIN))  # type: ignore[arg-type]
                await conn.send(json.dumps({"type": "auth", "token": token()}))
                readers.append(asyncio.create_task(read_all(conn, messages)))
            await until(lambda: all(m for m in received) and len(hub.clients) == 4, "hellos")
            clients: list[Client] = list(hub.clients)
            assert all(c.raw is not None for c in clients), "uvicorn's sockets are written directly"
            await until(lambda: all(c._task is not None for c in clients), "senders running")

            frames = 1000  # 16 MB for each socket: far more than a stuck socket's buffers hold
            for n in range(1, frames + 1):
                await hub._broadcast([changes.add(n)])
                # The hub's pause between frames: the event loop writes, readers read.
                await asyncio.sleep(0)
            await until(lambda: all(m[-1]["seq"] == frames for m in received), "every frame")

            for messages in received:
                ids = [e["id"] for m in messages if m["type"] == "entries" for e in m["entries"]]
                assert ids == list(range(1, frames + 1)), "every entry, once, in order"
                assert [m["seq"] for m in messages] == sorted({m["seq"] for m in messages})
                assert messages[-1]["count"] == frames
            slow = next(c for c in clients if c.raw is not None and not c.raw.ready)
            assert slow._reload, "too far behind: it is told to reload"
            assert slow.raw is not None
            assert slow.raw._transport.get_write_buffer_size() < 512 * 1024, "bounded"
            for task in readers:
                task.cancel()

        # The tab reads again: what it has is stale, and the last word is a reload.
        stuck.setblocking(True)
        stuck.settimeout(30)
        tail = b""
        with contextlib.suppress(TimeoutError):
            while b'"type":"reload"' not in tail[-300:]:
                tail += await asyncio.to_thread(stuck.recv, 1 << 20)
        assert tail.endswith(b'{"type":"reload","seq":%d,"count":%d}' % (frames, frames))
        stuck.close()
