"""Live push: publish-to-browser latency with many WebSocket clients, and memory per client.

One real activity process consumes from real Kafka while BENCH_LIVE_RATE events/s
(default 500) are published for BENCH_LIVE_SECONDS; N feed-subscribed WebSocket
clients (1,000, then 2,000 and 5,000 to see where latency takes off) receive
them. The in-run baseline is publish-to-database-commit, read from the log
(the change's commit-time stamp minus the event's time). Each step also reports
the CPU the push replica, the consumer and the clients' process used (so a
starved clients' process is seen, not measured as push latency).

Then the push alone (bench/live_fanout.py: the live endpoint and hub, changes in
memory, no Kafka or PostgreSQL), 20 frames/s carrying RATE entries/s to N feed
clients: shared frames written straight to each socket vs every message through
ASGI `send` from each client's sender task (the path before), in the same run.

Targets: publish-to-client p99 <= 200 ms at 5,000 clients (issue 19);
p99(client) - p99(commit) < 100 ms; memory per idle connection < 64 KB.
BENCH_LIVE_PARTS=e2e or =fanout runs one half.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import cast

import asyncpg
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from common import Goal, Point, Row
from infra import asyncpg_dsn, connection_info, fresh_database, namespace, service
from websockets.asyncio.client import ClientConnection, connect

from shoptrail.activity.adapters.migrate import migrate
from shoptrail.activity.realtime.tokens import mint
from shoptrail.events import new_event
from shoptrail.events.fulfilment import OrderShipped, OrderSubmissionFailed
from shoptrail.events.producer import Producer
from shoptrail.events.publisher import EventPublisher
from shoptrail.testing import free_port

RATE = int(os.environ.get("BENCH_LIVE_RATE", "500"))
SECONDS = float(os.environ.get("BENCH_LIVE_SECONDS", "10"))
CLIENT_STEPS = [
    int(n) for n in os.environ.get("BENCH_LIVE_CLIENTS", "1000,2000,5000").split(",") if n
]
SAMPLED = 50  # clients that parse every message; the rest read and drop
FANOUT_FRAME_S = 0.05  # the hub's default frame interval (ACTIVITY_WS_FRAME_MS)
ORIGIN = "http://bench.local"
SECRET = "bench-ws-secret"  # noqa: S105 - a throwaway local secret


def p99(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=100)[98] if len(samples) > 1 else float("nan")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def p50(samples: list[float]) -> float:
    return statistics.median(samples) if samples else float("nan")


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


async def reader(conn: ClientConnection, samples: list[float] | None) -> None:
    async for raw in conn:
        if samples is None:
            continue
        now = time.time()
        message = json.loads(raw)
        for entry in message.get("entries", ()):
            occurred = datetime.fromisoformat(entry["occurred_at"]).timestamp()
            samples.append(now - occurred)


class Drain(asyncio.BufferedProtocol):
    """A bare WebSocket client that only reads and discards: the load of a browser tab.

    A buffered protocol, not a stream: every socket reads into one shared scratch
    buffer (the frames are dropped unread), with no bytes object, buffer or
    coroutine wake-up per read, so the clients' process spends as little of the
    machine's CPU as possible on frames nobody looks at (a real browser's CPU is
    not the server's).
    """

    scratch = bytearray(1 << 18)

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.upgraded: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._head = b""
        self.lost: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    @classmethod
    async def open(cls, url: str) -> Drain:
        rest = url.removeprefix("ws://")
        hostport, _, path = rest.partition("/")
        host, _, port = hostport.partition(":")
        _, drain = await asyncio.get_running_loop().create_connection(cls, host, int(port))
        key = base64.b64encode(os.urandom(16)).decode()
        assert drain.transport is not None
        drain.transport.write(
            (
                f"GET /{path} HTTP/1.1\r\nHost: {hostport}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                f"Sec-WebSocket-Version: 13\r\nOrigin: {ORIGIN}\r\n\r\n"
            ).encode()
        )
        await drain.upgraded
        return drain

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def get_buffer(self, sizehint: int) -> memoryview:
        return memoryview(self.scratch)

    def buffer_updated(self, nbytes: int) -> None:
        if self.upgraded.done():
            return  # a frame nobody reads
        self._head += bytes(self.scratch[:nbytes])
        if b"\r\n\r\n" in self._head:
            if b" 101 " in self._head.split(b"\r\n", 1)[0]:
                self.upgraded.set_result(None)
            else:
                self.upgraded.set_exception(RuntimeError(f"handshake refused: {self._head!r}"))

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.upgraded.done():
            self.upgraded.set_exception(ConnectionError("closed during the handshake"))
        if not self.lost.done():
            self.lost.set_result(None)

    async def drain(self) -> None:
        await asyncio.shield(self.lost)

    async def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


async def open_drains(url: str, n: int, query: str) -> list[Drain]:
    token, _ = mint(SECRET.encode(), subject="bench", ttl=timedelta(hours=1), now=datetime.now(UTC))
    drains: list[Drain] = []
    for start in range(0, n, 200):
        drains += await asyncio.gather(
            *(Drain.open(f"{url}?token={token}{query}") for _ in range(min(200, n - start)))
        )
    return drains


async def open_clients(url: str, n: int, query: str) -> list[ClientConnection]:
    token, _ = mint(SECRET.encode(), subject="bench", ttl=timedelta(hours=1), now=datetime.now(UTC))
    conns: list[ClientConnection] = []
    for start in range(0, n, 200):  # connect in waves, as browsers would over a few seconds
        batch = [
            connect(f"{url}?token={token}{query}", origin=ORIGIN, max_queue=64)  # type: ignore[arg-type]
            for _ in range(min(200, n - start))
        ]
        conns.extend(await asyncio.gather(*batch))
    return conns


async def publish_steadily(bootstrap: str, topic: str, rate: int, seconds: float) -> int:
    sent = 0
    async with Producer(bootstrap, client_id="bench-live") as producer:
        publisher = EventPublisher(producer, topic)
        started = time.monotonic()
        tick = 0.02
        while (elapsed := time.monotonic() - started) < seconds:
            due = int(elapsed * rate) - sent
            batch = [
                new_event(
                    OrderSubmissionFailed(
                        order_id=f"ord_{sent + i}", provider="Printify", reason="x",
                        attempt=1, max_attempts=3,
                    )
                    if (sent + i) % 10 == 0
                    else OrderShipped.example(),
                    source="/bench",
                )
                for i in range(max(due, 0))
            ]  # fmt: skip
            if batch:
                await publisher.publish_all(batch)
                sent += len(batch)
            await asyncio.sleep(tick)
    return sent


async def commit_latency(dsn: str, since: datetime) -> list[float]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            """
            SELECT extract(epoch FROM min(c.created_at) - l.occurred_at) AS seconds
            FROM activity_changes c, unnest(c.entry_ids) AS e(id)
            JOIN activity_log l ON l.id = e.id
            WHERE l.occurred_at >= $1
            GROUP BY l.id, l.occurred_at
            """,
            since,
        )
    finally:
        await conn.close()
    return [float(r["seconds"]) for r in rows]


async def measure(
    clients: int,
    ws_url: str,
    bootstrap: str,
    topic: str,
    dsn: str,
    pids: dict[str, int],
    *,
    badge_only: bool = False,
) -> list[Row]:
    script = Path(__file__).with_name("live_clients.py")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(script), ws_url, str(clients), str(SAMPLED), str(SECONDS + 4),
        "badge" if badge_only else "feed", stdout=asyncio.subprocess.PIPE, limit=1 << 26,
    )  # fmt: skip
    assert proc.stdout is not None
    assert (await proc.stdout.readline()).strip() == b"ready"
    await asyncio.sleep(1)
    started = datetime.now(UTC)
    # CPU over the publishing window: the pusher's and consumer's cost, and proof that
    # the clients' process was not the bottleneck being measured.
    cpu = pids | {"clients": proc.pid}
    cpu_before, wall = {k: cpu_seconds(pid) for k, pid in cpu.items()}, time.monotonic()
    await publish_steadily(bootstrap, topic, RATE, SECONDS)
    await asyncio.sleep(1)  # the last frames arrive
    wall = time.monotonic() - wall
    used = {k: (cpu_seconds(pid) - cpu_before[k]) / wall for k, pid in cpu.items()}
    samples: list[float] = json.loads(await proc.stdout.readline())
    await proc.wait()
    commits = await commit_latency(dsn, started)
    mix = f"{SAMPLED} feed + {clients - SAMPLED:,} badge-only" if badge_only else "all feed"
    label = f"{clients:,} clients ({mix}), {RATE} ev/s"
    print(
        f"[bench] live: {label}: {len(samples)} samples; CPU (cores) "
        + ", ".join(f"{k} {v:.2f}" for k, v in used.items()),
        file=sys.stderr,
        flush=True,
    )
    return [
        Row("live", f"publish→client p50 vs →commit p50, {label}", p50(samples), p50(commits),
            "s/ev"),
        Row("live", f"publish→client p99 vs →commit p99, {label}", p99(samples), p99(commits),
            "s/ev", Goal("<=", 0.200, on="value"),
            Point("live", "publish→client, " + ("badge-only" if badge_only else "all feed"),
                  clients)),
        Row("live", f"  p99 gap client−commit, {label} (<100ms)", p99(samples) - p99(commits),
            p99(commits), "s/ev"),
        Row("live", f"  push replica CPU vs consumer's, {label}", used["pusher"],
            used["consumer"], "cores"),
        Row("live", f"  clients' process CPU (of 1 core), {label}", used["clients"], 1.0,
            "cores"),
    ]  # fmt: skip


async def fanout(clients: int, mode: str) -> tuple[list[float], float, float]:
    """The live endpoint alone (bench/live_fanout.py): client latencies, CPU s, wall s."""
    port = free_port()
    here = Path(__file__).parent
    server = await asyncio.create_subprocess_exec(
        sys.executable, str(here / "live_fanout.py"), str(port), mode,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert server.stdin is not None and server.stdout is not None
    try:
        assert (await server.stdout.readline()).strip() == b"ready"
        proc = await asyncio.create_subprocess_exec(
            sys.executable, str(here / "live_clients.py"), f"ws://127.0.0.1:{port}/ws",
            # Long enough for a starved server to finish the frames (it reports the wall time).
            str(clients), str(SAMPLED), str(SECONDS * 3 + 4), "feed",
            stdout=asyncio.subprocess.PIPE, limit=1 << 26,
        )  # fmt: skip
        assert proc.stdout is not None
        assert (await proc.stdout.readline()).strip() == b"ready"
        frames = int(SECONDS / FANOUT_FRAME_S)
        server.stdin.write(f"run {clients} {frames} {int(RATE * FANOUT_FRAME_S)}\n".encode())
        await server.stdin.drain()
        used = json.loads(await server.stdout.readline())
        samples: list[float] = json.loads(await proc.stdout.readline())
        await proc.wait()
    finally:
        server.stdin.close()
        server.terminate()
        await server.wait()
    print(
        f"[bench] live fan-out {clients:,} clients, {mode}: {len(samples)} samples; CPU s "
        f"user {used['user']:.2f} system {used['system']:.2f} over {used['wall']:.1f} s",
        file=sys.stderr,
        flush=True,
    )
    return samples, used["user"] + used["system"], used["wall"]


async def fanout_rows() -> list[Row]:
    """Push alone, as the hub paces it (one frame per 50 ms), shared frames written to each
    socket vs every message through ASGI `send` (the path before): same run, same clients."""
    rows: list[Row] = []
    for clients in CLIENT_STEPS:
        print(f"[bench] live fan-out: {clients:,} clients…", flush=True)
        asgi, asgi_cpu, asgi_wall = await fanout(clients, "asgi")
        direct, direct_cpu, direct_wall = await fanout(clients, "direct")
        label = f"{clients:,} feed clients, {RATE} ev/s in 20 frames/s"
        print(
            f"[bench] live fan-out {label}: samples asgi {len(asgi)} direct {len(direct)}; "
            f"CPU (cores) asgi {asgi_cpu / asgi_wall:.2f} direct {direct_cpu / direct_wall:.2f}",
            file=sys.stderr,
            flush=True,
        )
        # Per entry delivered (to the sampled clients, scaled to all): a path that falls
        # behind sends fewer, merged messages, so per-message figures would flatter it.
        delivered_direct = max(len(direct) / SAMPLED * clients, 1)
        delivered_asgi = max(len(asgi) / SAMPLED * clients, 1)
        rows += [
            Row("live", f"push alone p50: direct vs ASGI send, {label}", p50(direct), p50(asgi),
                "s/ev"),
            Row("live", f"push alone p99: direct vs ASGI send, {label}", p99(direct), p99(asgi),
                "s/ev", point=Point("live", "push alone (no Kafka, no database)", clients)),
            Row("live", f"  push CPU per entry delivered: direct vs ASGI send, {label}",
                direct_cpu / delivered_direct, asgi_cpu / delivered_asgi, "s/ev"),
            Row("live", f"  entries delivered in time: direct vs ASGI send, {label}",
                len(direct), len(asgi), "samples"),
        ]  # fmt: skip
    return rows


async def run_async() -> list[Row]:
    bootstrap, url = connection_info()
    db = await fresh_database(url, "bench_activity_live")
    await migrate(db)
    ns = namespace()
    topic = f"{ns}.fulfilment"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    await admin.create_topics([NewTopic(topic, 3, 1)])
    await admin.close()
    # The deployment shape for many browsers: one replica consumes, another (ACTIVITY_CONSUME
    # =false) holds the WebSockets; commits reach it through LISTEN/NOTIFY.
    consumer_port, port = free_port(), free_port()
    env = {
        "ACTIVITY_DATABASE_URL": db, "ACTIVITY_KAFKA_BOOTSTRAP": bootstrap,
        "ACTIVITY_TOPIC_PATTERN": rf"^{ns}\.[a-z]+$", "ACTIVITY_GROUP_ID": f"{ns}-activity",
        "ACTIVITY_WS_TOKEN_SECRET": SECRET, "ACTIVITY_MIGRATE_ON_START": "false",
        "ACTIVITY_WS_ALLOWED_ORIGINS": ORIGIN, "ACTIVITY_BATCH_TIMEOUT_MS": "20",
    }  # fmt: skip
    ws_url = f"ws://127.0.0.1:{port}/ws"
    rows: list[Row] = []
    consumer = env | {"ACTIVITY_PORT": str(consumer_port)}
    pusher = env | {"ACTIVITY_PORT": str(port), "ACTIVITY_CONSUME": "false"}
    with (
        service(["shoptrail-activity", "serve"], consumer, None) as consumer_pid,
        service(["shoptrail-activity", "serve"], pusher, f"http://127.0.0.1:{port}/healthz") as pid,
    ):
        # Warm up first (lazy imports, allocator arenas), then measure what 1,000 more cost.
        warm = await open_clients(ws_url, 200, "")
        await asyncio.sleep(2)
        before = rss_kb(pid)
        idle = await open_drains(ws_url, 1000, "")
        await asyncio.sleep(2)
        per_client = (rss_kb(pid) - before) * 1024 / len(idle)
        await asyncio.gather(*(c.close() for c in warm), *(d.close() for d in idle))
        rows.append(Row("live", "memory per idle connection (<64 KB)", per_client, 65536, "B"))
        for clients in CLIENT_STEPS:
            for badge_only in (False, True):
                print(f"[bench] live: {clients:,} clients, badge_only={badge_only}…", flush=True)
                rows += await measure(
                    clients, ws_url, bootstrap, topic, asyncpg_dsn(db),
                    {"pusher": pid, "consumer": consumer_pid}, badge_only=badge_only,
                )  # fmt: skip
                await asyncio.sleep(2)
    return rows


async def run_parts() -> list[Row]:
    """BENCH_LIVE_PARTS: `e2e` (Kafka → consumer → NOTIFY → push), `fanout` (push alone)."""
    parts = os.environ.get("BENCH_LIVE_PARTS", "e2e,fanout").split(",")
    rows = await run_async() if "e2e" in parts else []
    return rows + (await fanout_rows() if "fanout" in parts else [])


def run() -> list[Row]:
    return asyncio.run(run_parts())
