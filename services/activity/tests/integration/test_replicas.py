"""Three activity replicas in one consumer group: live changes and counts stay exact.

Writers no longer queue on one lock (migration 0011): each replica records its
changes un-numbered and a sequencer numbers them after commit. These tests check
what that must keep: a reader on one replica sees every entry the others write,
each once, in change order; the counts equal the log; and a replica joining or
killed (SIGKILL) loses and doubles nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from shoptrail.activity.realtime.tokens import mint
from shoptrail.events import Event, EventData, new_event
from shoptrail.events.fulfilment import OrderShipped, OrderSubmissionFailed
from shoptrail.testing.waiting import eventually

from ..conftest import LIVE_ORIGIN, LIVE_SECRET, TOKEN, logged, replica_env, serve_replica

pytestmark = [pytest.mark.kafka, pytest.mark.postgres, pytest.mark.slow]

ORIGIN, SECRET = LIVE_ORIGIN, LIVE_SECRET
HEADERS = {"Authorization": f"Bearer {TOKEN}"}


@dataclass
class Replica:
    proc: subprocess.Popen[bytes]
    http: str

    @property
    def ws(self) -> str:
        return self.http.replace("http://", "ws://") + "/ws"

    async def inserted(self) -> float:
        """How many entries this replica's consumer has written (its own metric)."""
        async with httpx.AsyncClient(headers=HEADERS) as client:
            body = (await client.get(f"{self.http}/metrics")).text
        return sum(
            float(line.split()[-1])
            for line in body.splitlines()
            if line.startswith("activity_inserted_total")
        )


@pytest.fixture
async def start(engine: AsyncEngine, database_url: str, namespace: Any) -> AsyncIterator[Any]:
    """Start `shoptrail-activity serve` replicas of one consumer group; all stopped at the end."""
    env = replica_env(
        database_url,
        namespace,
        ACTIVITY_BATCH_MAX_RECORDS="10",  # several transactions per replica, interleaved
        ACTIVITY_SESSION_TIMEOUT_MS="6000",  # a killed replica's partitions move soon
    )
    started: list[Replica] = []

    async def replica() -> Replica:
        proc, base = await serve_replica(env)
        started.append(r := Replica(proc, base))
        return r

    yield replica
    for r in started:
        if r.proc.poll() is None:
            r.proc.terminate()
    for r in started:
        r.proc.wait(timeout=30)


@dataclass
class ChangesReader:
    """A page kept current through one replica's `/api/feed/changes`, as the admin does."""

    http: str
    since: int = 0
    inserted: list[str] = field(default_factory=list)  # event ids, in the order received
    seqs: list[int] = field(default_factory=list)

    async def follow(self) -> None:
        async with httpx.AsyncClient(headers=HEADERS, timeout=30) as client:
            while True:
                response = await client.get(
                    f"{self.http}/api/feed/changes", params={"since": self.since}
                )
                assert response.status_code == 200, response.text
                answer = response.json()
                assert answer["reload"] is False, answer
                if answer["seq"] > self.since:
                    self.seqs.append(answer["seq"])
                # Newest first in each answer: read in change order, oldest first.
                for entry in reversed(answer["entries"]):
                    if entry["inserted"]:
                        self.inserted.append(entry["event_id"])
                self.since = answer["seq"]
                await asyncio.sleep(0.05)  # the page's poll interval, not a synchronisation


@contextlib.asynccontextmanager
async def following(reader: ChangesReader) -> AsyncIterator[ChangesReader]:
    task = asyncio.create_task(reader.follow())
    try:
        yield reader
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        if task.done() and not task.cancelled() and task.exception():
            raise task.exception()  # type: ignore[misc]


@dataclass
class Socket:
    """A live feed socket: every message received, in order."""

    messages: list[dict[str, Any]] = field(default_factory=list)

    def event_ids(self) -> list[str]:
        return [
            e["event_id"] for m in self.messages if m["type"] == "entries" for e in m["entries"]
        ]


@contextlib.asynccontextmanager
async def live_feed(replica: Replica) -> AsyncIterator[Socket]:
    token, _ = mint(
        SECRET.encode(), subject="alice", ttl=timedelta(seconds=300), now=datetime.now(UTC)
    )
    socket = Socket()
    async with connect(f"{replica.ws}?feed=1", origin=ORIGIN) as conn:  # type: ignore[arg-type]
        await conn.send(json.dumps({"type": "auth", "token": token}))

        async def pump() -> None:
            with contextlib.suppress(ConnectionClosed):
                async for raw in conn:
                    socket.messages.append(json.loads(raw))

        task = asyncio.create_task(pump())
        try:
            yield socket
        finally:
            task.cancel()


def shipped(n: int) -> Event[EventData]:
    data = OrderShipped.example().model_copy(update={"order_id": f"ord_r{n}"})
    return new_event(data, source="/tests")


def failed(n: int) -> Event[EventData]:
    data = OrderSubmissionFailed.example().model_copy(update={"order_id": f"ord_r{n}"})
    return new_event(data, source="/tests")


async def counts_match_the_log(engine: AsyncEngine) -> None:
    """The counts (folded totals plus deltas) equal the log, group by group."""
    async with engine.connect() as conn:
        counted = (
            await conn.execute(
                text(
                    "SELECT category, level, open, n FROM activity_counts "
                    "WHERE n <> 0 ORDER BY 1, 2, 3"
                )
            )
        ).all()
        logged = (
            await conn.execute(
                text(
                    "SELECT category, level, resolved_at IS NULL, count(*) FROM activity_log "
                    "GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
                )
            )
        ).all()
    assert [tuple(r) for r in counted] == [tuple(r) for r in logged]


async def test_three_replicas_keep_live_changes_and_counts_exact_through_a_join_and_a_kill(
    start: Any, namespace: Any, engine: AsyncEngine
) -> None:
    """A reader on A sees every entry B and C write, once, in change order; the counts
    equal the log; C joining and B killed (SIGKILL) mid-stream lose and double nothing."""
    a, b = await asyncio.gather(start(), start())
    published: list[str] = []
    stop = asyncio.Event()

    async def publish() -> None:
        """Small rounds (one entry in five an error) until told to stop."""
        while not stop.is_set():
            n = len(published)
            events = [failed(n + i) if i % 5 == 0 else shipped(n + i) for i in range(20)]
            await namespace.publish(events)
            published.extend(str(e.id) for e in events)
            await asyncio.sleep(0.1)  # pacing the load, not a synchronisation

    async with following(ChangesReader(a.http)) as reader, live_feed(a) as socket:
        load = asyncio.create_task(publish())
        c = await start()  # joins: the group rebalances while events flow
        await eventually(c.inserted, "C got partitions and wrote", timeout=120)
        await eventually(b.inserted, "B wrote", timeout=60)
        before_kill = await a.inserted() + await c.inserted()
        b.proc.send_signal(signal.SIGKILL)  # mid-stream: B's uncommitted batch is redelivered
        b.proc.wait()

        async def survivors_took_over() -> bool:
            return bool(await a.inserted() + await c.inserted() > before_kill + 100)

        await eventually(survivors_took_over, "A and C took B's partitions", timeout=120)
        stop.set()
        await load
        await eventually(partial(logged_at_least, engine, len(published)), "all logged", 120)
        everything = set(published)
        await eventually(lambda: as_true(set(reader.inserted) >= everything), "/changes", 60)
        await eventually(lambda: as_true(set(socket.event_ids()) >= everything), "socket", 60)

    assert await logged(engine) == (len(published), len(published))
    assert sorted(reader.inserted) == sorted(published), "missing or repeated on /changes"
    assert reader.seqs == sorted(set(reader.seqs)), "change numbers went backwards"
    assert len(socket.event_ids()) == len(set(socket.event_ids())), "repeated on the socket"
    socket_seqs = [m["seq"] for m in socket.messages if m["type"] == "entries"]
    assert socket_seqs == sorted(set(socket_seqs)), "frames out of change order"
    await counts_match_the_log(engine)

    # A resolve on C: the counts follow, whichever replica folds them.
    async with httpx.AsyncClient(headers=HEADERS) as client:
        resolved = await client.post(f"{c.http}/api/feed/resolve", json={"note": "all at once"})
    assert resolved.status_code == 200, resolved.text
    assert resolved.json()["resolved"] == len(published) // 5
    await counts_match_the_log(engine)


async def logged_at_least(engine: AsyncEngine, n: int) -> bool:
    rows, _ = await logged(engine)
    return rows >= n


async def as_true(value: bool) -> bool:
    return value
