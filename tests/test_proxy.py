"""The one public origin, for real: Debian's nginx from `make dev`'s config in front of two
`shoptrail-activity serve` processes and an upstream that echoes what it is sent.

A WebSocket through the proxy, with a live session's token and the proxy's own
origin, connects to either replica (round robin) and hears a change committed
after it connected; a foreign origin is refused; with one replica killed the
proxy serves through the other. The forwarded headers are the proxy's, not
the client's. The compose config is syntax-checked by the same binary in
tests/test_compose.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import create_async_engine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from shoptrail.activity.adapters.migrate import migrate
from shoptrail.activity.adapters.store import PostgresLogStore
from shoptrail.activity.service_layer.ports import DeadLetters
from shoptrail.activity.service_layer.record import record_resiliently
from shoptrail.events import encode, new_event
from shoptrail.events.fulfilment import OrderSubmissionFailed
from shoptrail.kit.serving import served
from shoptrail.testing import free_port_block
from shoptrail.testing.waiting import eventually, until

REPO = Path(__file__).resolve().parents[1]
sys.path.append(str(REPO / "deploy" / "local"))
import proxy  # noqa: E402

pytestmark = pytest.mark.postgres

TOKEN = "test-service-token"
SECRET = "test-ws-token-secret-for-the-proxy"


@dataclass
class Replica:
    port: int
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def established(port: int) -> int:
    """Open TCP connections accepted on 127.0.0.1:`port` (the kernel's table, any process)."""
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(FileNotFoundError), open(table) as rows:
            for row in list(rows)[1:]:
                local, state = row.split()[1], row.split()[3]
                count += state == "01" and int(local.rsplit(":", 1)[1], 16) == port
    return count


def start_replica(port: int, database_url: str, origin: str, log: Path) -> Replica:
    env = os.environ | {
        "ACTIVITY_ENVIRONMENT": "test",
        "ACTIVITY_PORT": str(port),
        "ACTIVITY_DATABASE_URL": database_url,
        "ACTIVITY_MIGRATE_ON_START": "false",
        "ACTIVITY_CONSUME": "false",
        "ACTIVITY_KAFKA_BOOTSTRAP": "127.0.0.1:9",  # no Kafka: changes come from the store
        "ACTIVITY_SERVICE_TOKEN": TOKEN,
        "ACTIVITY_WS_TOKEN_SECRET": SECRET,
        "ACTIVITY_WS_ALLOWED_ORIGINS": origin,
        "ACTIVITY_WS_PUBLIC_URL": "/ws",
    }
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(Path(sys.executable).parent / "shoptrail-activity"), "serve"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return Replica(port, process)


async def echo(request: Request) -> JSONResponse:
    """admin-ui's stand-in: says what the proxy sent it."""
    return JSONResponse({"headers": dict(request.headers), "path": request.url.path})


def echo_app() -> Starlette:
    return Starlette(routes=[Route("/{path:path}", echo)])


@contextlib.contextmanager
def running(processes: Sequence[subprocess.Popen[bytes]]) -> Iterator[None]:
    try:
        yield
    finally:
        for process in processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


@dataclass
class Stage:
    public: str
    replicas: list[Replica]
    database_url: str

    @property
    def ws(self) -> str:
        return self.public.replace("http://", "ws://") + "/ws?feed=1"


async def answering(urls: Sequence[str]) -> None:
    async with httpx.AsyncClient(timeout=5) as http:
        for url in urls:

            async def ready(url: str = url) -> bool:
                with contextlib.suppress(httpx.HTTPError):
                    return (await http.get(url)).status_code == 200
                return False

            await eventually(ready, f"{url} ready", timeout=90)


@contextlib.asynccontextmanager
async def nginx_in_front(base: int, state: Path, *, activity: Sequence[int]) -> AsyncIterator[str]:
    """`make dev`'s proxy config on port `base` → `activity` ports (/ws), an echo app (the
    rest); yields the public URL."""
    async with served(echo_app()) as admin:
        config = proxy.write_config(
            listen=f"127.0.0.1:{base}",
            state=state,
            upstreams={
                "activity": [f"127.0.0.1:{port}" for port in activity],
                "admin_ui": [admin.removeprefix("http://")],
                "ingest": [f"127.0.0.1:{base + 8}"],
                "notifier": [f"127.0.0.1:{base + 9}"],
            },
        )
        nginx = subprocess.Popen(
            proxy.nginx_command(config),
            stderr=(state / "nginx.log").open("wb"),
            start_new_session=True,
        )
        with running([nginx]):
            public = f"http://127.0.0.1:{base}"
            await answering([public + "/_proxy/healthz"])
            yield public


@pytest.fixture
async def stage(database_url: str, tmp_path: Path) -> AsyncIterator[Stage]:
    """nginx on a free port → activity × 2 (/ws), an echo app (everything else)."""
    await migrate(database_url)
    base = free_port_block(10)
    public = f"http://127.0.0.1:{base}"
    replicas = [
        start_replica(base + n, database_url, public, tmp_path / f"activity-{n}.log")
        for n in (1, 2)
    ]
    with running([r.process for r in replicas]):
        async with nginx_in_front(
            base, tmp_path / "proxy", activity=[r.port for r in replicas]
        ) as url:
            await answering([r.url + "/readyz" for r in replicas])
            yield Stage(url, replicas, database_url)


async def live_token(replica: Replica) -> str:
    """A token bound to a fresh admin session, as admin-ui fetches one (server-side)."""
    auth = {"Authorization": f"Bearer {TOKEN}"}
    async with httpx.AsyncClient(base_url=replica.url, headers=auth, timeout=10) as http:
        session = await http.post(
            "/api/sessions", json={"user": "sam", "lifetime_s": 600, "idle_s": 600}
        )
        session.raise_for_status()
        granted = await http.post("/api/ws-tokens", json={"session": session.json()["session"]})
        granted.raise_for_status()
    assert granted.json()["url"] == "/ws"  # the page opens it on its own origin
    token: str = granted.json()["token"]
    return token


async def open_socket(stage: Stage, token: str) -> ClientConnection:
    """The admin page's socket: through the proxy, from the proxy's origin, token first."""
    conn = await connect(stage.ws, origin=stage.public)  # type: ignore[arg-type]
    await conn.send(json.dumps({"type": "auth", "token": token}))
    hello = json.loads(await asyncio.wait_for(conn.recv(), 30))
    assert hello["type"] == "hello"
    return conn


async def frame_with(conn: ClientConnection, order_id: str) -> dict[str, Any]:
    """The first `entries` frame that tells of `order_id` (badges before it are skipped)."""
    async with asyncio.timeout(30):
        while True:
            message = json.loads(await conn.recv())
            if message["type"] == "entries" and any(
                e["order_id"] == order_id for e in message["entries"]
            ):
                return message  # type: ignore[no-any-return]


class NoDeadLetters(DeadLetters):
    async def publish(self, record: Any, error: str) -> bool:
        raise AssertionError(error)


@dataclass
class Record:
    value: bytes
    key: bytes
    offset: int
    topic: str = "shoptrail.fulfilment"
    partition: int = 0
    timestamp: int = 1_767_225_600_000
    headers: tuple[()] = ()


async def commit_a_change(database_url: str, order_id: str, offset: int) -> None:
    """A submission failure stored as the consumer stores it: every replica's hub hears it."""
    data = OrderSubmissionFailed.example().model_copy(update={"order_id": order_id})
    record = Record(encode(new_event(data, source="/test")), order_id.encode(), offset)
    engine = create_async_engine(database_url)
    try:
        await record_resiliently(
            records=[record],
            store=PostgresLogStore(engine),
            dead_letters=NoDeadLetters(),
            consumer="test",
        )
    finally:
        await engine.dispose()


async def test_the_live_socket_goes_through_the_proxy_to_any_replica_and_survives_one_dying(
    stage: Stage,
) -> None:
    first, second = stage.replicas
    token = await live_token(first)  # sessions live in PostgreSQL: any replica knows it

    sockets = [await open_socket(stage, token) for _ in range(4)]
    # Round robin: each replica holds two of the four (the kernel's table says who accepted).
    assert (established(first.port), established(second.port)) == (2, 2)

    await commit_a_change(stage.database_url, "ord_proxy_1", 1)
    for conn in sockets:
        await frame_with(conn, "ord_proxy_1")

    # A page from another site is refused at the handshake, through the proxy as directly.
    with pytest.raises(InvalidStatus) as refused:
        await connect(stage.ws, origin="http://evil.example")  # type: ignore[arg-type]
    assert refused.value.response.status_code == 403

    first.process.kill()
    first.process.wait()
    for conn in sockets:
        with contextlib.suppress(ConnectionClosed, TimeoutError):
            await asyncio.wait_for(conn.wait_closed(), 1)
    survivors = [conn for conn in sockets if conn.close_code is None]
    assert len(survivors) == 2, "the dead replica's sockets closed, the others' did not"

    # New sockets (the pages reconnecting) all land on the survivor, none fails.
    fresh = [await open_socket(stage, token) for _ in range(4)]
    await until(lambda: established(second.port) == 6, "six sockets on the survivor")
    await commit_a_change(stage.database_url, "ord_proxy_2", 2)
    for conn in [*survivors, *fresh]:
        await frame_with(conn, "ord_proxy_2")
    for conn in [*survivors, *fresh]:
        await conn.close()


async def test_the_proxy_sets_the_forwarded_headers_itself_and_hides_metrics(
    tmp_path: Path,
) -> None:
    base = free_port_block(10)
    async with (
        nginx_in_front(base, tmp_path, activity=[base + 1]) as public,
        httpx.AsyncClient(base_url=public, timeout=10) as http,
    ):
        spoofed = {
            "X-Forwarded-For": "6.6.6.6",
            "X-Forwarded-Proto": "https",
            "X-Forwarded-Host": "evil.example",
            "Forwarded": "for=6.6.6.6",
        }
        seen = (await http.get("/admin/feed", headers=spoofed)).json()
        assert (await http.get("/metrics")).status_code == 404
    headers = seen["headers"]
    assert seen["path"] == "/admin/feed"
    assert headers["host"] == public.removeprefix("http://")  # with the port: CSRF
    assert headers["x-forwarded-for"] == "127.0.0.1"  # the client nginx saw, not its claim
    assert headers["x-forwarded-proto"] == "http"
    assert "x-forwarded-host" not in headers and "forwarded" not in headers
