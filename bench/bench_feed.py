"""The open feed under steady traffic: does every entry appear, how soon, and the admin meanwhile.

Real activity (API + WebSocket; not consuming: this process commits entries
through the store, as the consumer does) and admin-ui processes, Debian's
Chromium with the feed open, and entries committed on a fixed schedule at each
of BENCH_FEED_RATES entries/s (default 20,200) for BENCH_FEED_SECONDS (30).
For each rate:

- entries seen on the page / committed (target: all);
- commit → row on the page, p50 and p99, against commit → the live WebSocket
  frame at a bare client in the same run (what the page adds to the push;
  target p99 ≤ 1 s at 20/s);
- the admin's feed pages while PAGERS clients page through them during the
  stream, p99 against the same clients on the quiet shop, measured first.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from common import Row
from infra import connection_info, fresh_database, service
from sqlalchemy.ext.asyncio import create_async_engine
from websockets.asyncio.client import connect

from shoptrail.activity.adapters.migrate import migrate
from shoptrail.activity.adapters.store import PostgresLogStore
from shoptrail.activity.domain.entries import entry_from_event
from shoptrail.activity.realtime.tokens import mint
from shoptrail.admin_ui.devtools.browser import launch_chromium, log_in, open_tab
from shoptrail.admin_ui.devtools.feedwatch import (
    quantile,
    start_watching,
    until,
    watched,
    write_steadily,
)
from shoptrail.admin_ui.devtools.harness import log_in as log_in_http
from shoptrail.events import Event, EventData
from shoptrail.testing import free_port

RATES = [int(r) for r in os.environ.get("BENCH_FEED_RATES", "20,200").split(",") if r]
SECONDS = float(os.environ.get("BENCH_FEED_SECONDS", "30"))
PAGERS = 20
QUIET_S = 10.0
TOKEN = "bench-feed-token"  # noqa: S105 - throwaway local secrets
WS_SECRET = "bench-feed-ws-secret-0123456789abcdef"  # noqa: S105
OLDER = re.compile(r'href="(/admin/activity\?after=[^"]+)" rel="next"')


async def feed_entries(
    ws_url: str, origin: str, secret: str, stop: asyncio.Event
) -> AsyncIterator[tuple[float, dict[str, Any]]]:
    """A bare live-feed client (as the admin's page): each pushed entry with when its frame
    arrived (s since the epoch), until `stop`."""
    token, _ = mint(secret.encode(), subject="bench", ttl=timedelta(hours=2), now=datetime.now(UTC))
    async with connect(f"{ws_url}?feed=1", origin=origin, max_size=None) as ws:  # type: ignore[arg-type]
        await ws.send(json.dumps({"type": "auth", "token": token}))
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(0.5):
                    message = json.loads(await ws.recv())
                    now = time.time()
                    for entry in message.get("entries", ()):
                        yield now, entry


async def socket_delays(ws_url: str, origin: str, stop: asyncio.Event) -> dict[int, float]:
    """Entry id → when its frame arrived at a bare feed client."""
    arrived: dict[int, float] = {}
    async for now, entry in feed_entries(ws_url, origin, WS_SECRET, stop):
        arrived.setdefault(entry["id"], now)
    return arrived


async def page_through(
    http: httpx.AsyncClient, stop: asyncio.Event, latencies: list[float]
) -> None:
    """A reader paging the feed: the first page, then three older ones, again and again."""
    while not stop.is_set():
        path: str | None = "/admin/activity"
        for _ in range(4):
            if path is None or stop.is_set():
                break
            started = time.perf_counter()
            response = await http.get(path)
            latencies.append(time.perf_counter() - started)
            if response.status_code != 200:
                latencies[-1] = float("inf")  # an error counts as the slowest answer
            older = OLDER.search(response.text)
            path = older.group(1).replace("&amp;", "&") if older else None


async def paging(
    readers: list[httpx.AsyncClient], seconds: float | None, stop: asyncio.Event
) -> list[float]:
    latencies: list[float] = []
    tasks = [asyncio.create_task(page_through(http, stop, latencies)) for http in readers]
    if seconds is not None:
        await asyncio.sleep(seconds)  # a measuring window, not a synchronisation
        stop.set()
    await asyncio.gather(*tasks)
    return latencies


async def run_async() -> list[Row]:
    _, url = connection_info()
    db = await fresh_database(url, "bench_feed")
    await migrate(db)
    activity_port, admin_port = free_port(), free_port()
    admin = f"http://127.0.0.1:{admin_port}"
    ws_url = f"ws://127.0.0.1:{activity_port}/ws"
    activity_env = {
        "ACTIVITY_PORT": str(activity_port), "ACTIVITY_DATABASE_URL": db,
        "ACTIVITY_CONSUME": "false", "ACTIVITY_MIGRATE_ON_START": "false",
        "ACTIVITY_SERVICE_TOKEN": TOKEN, "ACTIVITY_WS_TOKEN_SECRET": WS_SECRET,
        "ACTIVITY_WS_ALLOWED_ORIGINS": admin, "ACTIVITY_WS_PUBLIC_URL": ws_url,
    }  # fmt: skip
    admin_env = {
        "ADMIN_UI_PORT": str(admin_port), "ADMIN_UI_ACTIVITY_URL": f"http://127.0.0.1:{activity_port}",
        "ADMIN_UI_ACTIVITY_TOKEN": TOKEN, "ADMIN_UI_SERVICE_TOKEN": TOKEN,
        "ADMIN_UI_SESSION_SECRET": "bench-feed-session-secret-0123456789",
        "ADMIN_UI_FULFILMENT_URL": "http://127.0.0.1:9", "ADMIN_UI_FULFILMENT_TOKEN": TOKEN,
        "ADMIN_UI_NOTIFIER_URL": "http://127.0.0.1:9", "ADMIN_UI_NOTIFIER_TOKEN": TOKEN,
    }  # fmt: skip
    engine = create_async_engine(db)
    store = PostgresLogStore(engine)

    async def log(*events: Event[EventData]) -> list[int]:
        return list((await store.write([entry_from_event(e) for e in events])).inserted_ids)

    rows: list[Row] = []
    try:
        with (
            service(
                ["shoptrail-activity", "serve"],
                activity_env,
                f"http://127.0.0.1:{activity_port}/healthz",
            ),
            service(["shoptrail-admin-ui", "serve"], admin_env, f"{admin}/healthz"),
        ):
            # A log with history, so the pagers have older pages to turn.
            await write_steadily(log, 2000, 2)
            readers = [httpx.AsyncClient(base_url=admin, timeout=60) for _ in range(PAGERS)]
            for http in readers:  # one after another: the login throttle bounds concurrent verifies
                await log_in_http(http)
            print("[bench] feed: the admin's pages on a quiet shop…", flush=True)
            quiet = await paging(readers, QUIET_S, asyncio.Event())
            async with launch_chromium() as browser:
                context = await browser.new_context(viewport={"width": 1200, "height": 900})
                for rate in RATES:
                    print(f"[bench] feed: {rate} entries/s for {SECONDS:.0f} s…", flush=True)
                    rows += await measure(context, admin, ws_url, log, rate, readers, quiet)
                await context.close()
            for http in readers:
                await http.aclose()
    finally:
        await engine.dispose()
    return rows


async def measure(
    context: Any,
    admin: str,
    ws_url: str,
    log: Callable[..., Awaitable[list[int]]],
    rate: int,
    readers: list[httpx.AsyncClient],
    quiet: list[float],
) -> list[Row]:
    tab = await open_tab(context)
    page = tab.page
    if await context.cookies():
        await page.goto(f"{admin}/admin/activity")  # logged in for an earlier rate
    else:
        await log_in(page, admin)
    await page.locator('#live-state[data-state="open"]').wait_for()
    await start_watching(page)
    stop_socket, stop_pagers = asyncio.Event(), asyncio.Event()
    socket = asyncio.create_task(socket_delays(ws_url, admin, stop_socket))
    pagers = asyncio.create_task(paging(readers, None, stop_pagers))
    committed = await write_steadily(log, rate, SECONDS)
    stop_pagers.set()
    busy = await pagers

    async def all_seen() -> bool:
        return len((await watched(page, committed)).seen) == len(committed)

    await until(all_seen, 60)
    stop_socket.set()
    arrived = await socket
    seen = await watched(page, committed)
    await page.close()
    pushed = [arrived[i] - committed[i] for i in committed if i in arrived]
    shown = seen.delays
    label = f"{rate}/s for {SECONDS:.0f} s"

    def ms(samples: list[float], q: float) -> float:
        return quantile(samples, q) * 1000

    return [
        Row("feed", f"entries on the page / committed, {label}", len(seen.seen),
            len(committed), "entries"),
        Row("feed", f"commit→row p50 vs →socket p50, {label}", ms(shown, 0.5),
            ms(pushed, 0.5), "ms"),
        Row("feed", f"commit→row p99 vs →socket p99, {label}", ms(shown, 0.99),
            ms(pushed, 0.99), "ms"),
        Row("feed", f"admin page p50, {PAGERS} pagers, {label} vs quiet", ms(busy, 0.5),
            ms(quiet, 0.5), "ms"),
        Row("feed", f"admin page p99, {PAGERS} pagers, {label} vs quiet", ms(busy, 0.99),
            ms(quiet, 0.99), "ms"),
    ]  # fmt: skip


def run() -> list[Row]:
    return asyncio.run(run_async())
