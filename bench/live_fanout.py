"""The live endpoint alone, for bench_live's fan-out rows: no Kafka, no PostgreSQL.

    python bench/live_fanout.py PORT direct|asgi

Serves `/ws` as `shoptrail-activity serve` does (same router, hub and uvicorn
options), with the hub's changes kept in memory, prints "ready", then on each
`run CLIENTS FRAMES ENTRIES` line on stdin waits for that many clients and
broadcasts FRAMES frames of ENTRIES new entries, one per `ACTIVITY_WS_FRAME_MS`
(50 ms), as the hub paces them. Prints the process's CPU seconds and the wall
time the frames took, as JSON. Each entry's `occurred_at` is when its frame was
made, so the clients time the push alone. `asgi` sends every message through
ASGI `send` from each client's sender task (the path before frames were written
to sockets directly): the in-run baseline.
"""

from __future__ import annotations

import asyncio
import json
import resource
import socket
import sys
import time
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import uvicorn
import uvloop
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import create_async_engine

from shoptrail.activity.adapters.changes import Change, ChangeLog
from shoptrail.activity.adapters.sessions import SessionStore
from shoptrail.activity.config import Settings
from shoptrail.activity.entrypoints import ws
from shoptrail.activity.realtime.hub import Hub
from shoptrail.activity.realtime.sessions import SessionWatch
from shoptrail.activity.realtime.wire import RawSocket

ORIGIN = "http://bench.local"
SECRET = "bench-ws-secret"  # noqa: S105 - a throwaway local secret
FRAME_S = 0.05


class MemoryChangeLog(ChangeLog):
    def __init__(self) -> None:
        super().__init__(engine=None)  # type: ignore[arg-type]
        self.rows: dict[int, dict[str, Any]] = {}
        self.attention = 0

    def add(self, entry_id: int) -> int:
        error = entry_id % 10 == 0
        self.attention += error
        self.rows[entry_id] = {
            "id": entry_id, "event_id": uuid4(),
            "event_type": "order.submission_failed" if error else "order.shipped",
            "category": "fulfilment", "level": "error" if error else "info",
            "order_id": f"ord_{entry_id}",
            "message": f"Order ord_{entry_id} shipped with UPS (1Z999AA10123456784)",
            "occurred_at": datetime.now(UTC), "resolved_at": None, "resolution": None,
            "resolution_note": None, "needs_attention": error,
        }  # fmt: skip
        return entry_id

    async def entries(self, ids: list[int]) -> list[dict[str, Any]]:
        return [self.rows[i] for i in ids]

    async def attention_count(self) -> int:
        return self.attention


def cpu_seconds() -> tuple[float, float]:
    """(user, system) CPU seconds of this process so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime, usage.ru_stime


async def run(hub: Hub, changes: MemoryChangeLog, clients: int, frames: int, n: int) -> None:
    while len(hub.clients) < clients:  # noqa: ASYNC110 - clients connect from another process
        await asyncio.sleep(0.05)
    cpu, wall, seq = cpu_seconds(), time.monotonic(), hub.seq
    for _ in range(frames):
        started = time.monotonic()
        ids = [changes.add(seq + 1 + i) for i in range(n)]
        seq += n
        await hub._broadcast([Change(seq, "entries", ids)])
        await asyncio.sleep(max(0.0, started + FRAME_S - time.monotonic()))
    await asyncio.sleep(1)  # what the sender tasks still had to send
    (user, system), wall = cpu_seconds(), time.monotonic() - wall
    used = {"user": user - cpu[0], "system": system - cpu[1], "wall": wall}
    print(json.dumps(used), flush=True)


async def main(port: int, mode: str) -> None:
    if mode == "asgi":
        RawSocket.of = classmethod(lambda cls, websocket: None)  # type: ignore[assignment]
    changes = MemoryChangeLog()
    hub = Hub(changes, "postgresql://unused")
    app = FastAPI()
    app.include_router(ws.router)
    app.state.settings = Settings(
        environment="test", ws_token_secret=SECRET, ws_allowed_origins=ORIGIN
    )
    app.state.hub = hub
    engine = create_async_engine("postgresql+asyncpg://")  # never connects: no sessions here
    app.state.session_watch = SessionWatch(SessionStore(engine))
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    config = uvicorn.Config(
        app, ws="websockets-sansio", ws_max_size=4096, ws_max_queue=4,
        ws_per_message_deflate=False, lifespan="off", log_level="warning", backlog=4096,
    )  # fmt: skip
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:  # noqa: ASYNC110 - uvicorn has no event for it
        await asyncio.sleep(0.01)
    print("ready", flush=True)
    loop = asyncio.get_running_loop()
    while line := await loop.run_in_executor(None, sys.stdin.readline):
        _, clients, frames, n = line.split()
        await run(hub, changes, int(clients), int(frames), int(n))
    server.should_exit = True
    await serving


if __name__ == "__main__":
    uvloop.run(main(int(sys.argv[1]), sys.argv[2]))
