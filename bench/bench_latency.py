"""Feed and search latency at BENCH_ROWS entries, over HTTP to the real activity service.

BENCH_ROWS (default 100,000 then 1,000,000; add 10,000,000 for a busy shop after a few
years: BENCH_ROWS=1000000,10000000) entries of
a shop's history in its own words (see latency_rows.py) are generated inside PostgreSQL,
then the real service answers BENCH_REQUESTS (300) timed GETs per row, one at a time:

  * a feed page (p99 < 20 ms) against /healthz; the 10,000th page, the needs-attention
    tab and a category against the first page (<= 1.5x);
  * searches, first page with its capped total, p99 against /healthz and against the
    feed's first page (goal: <= 50 ms): common words, common words and a name, a name,
    a customer's email, an order number, a tracking number, a provider's order id (50
    different ones each, cycled), and a word in no entry.

The database is dropped at the end. BENCH_LATENCY_DB names an already populated one to
use instead (kept): generating 10M rows takes tens of minutes on a small machine.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import time
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
from common import Goal, Point, Row
from infra import asyncpg_dsn, connection_info, fresh_database, service
from latency_rows import populate
from sqlalchemy.engine import make_url

from shoptrail.activity.adapters.migrate import migrate
from shoptrail.activity.domain.feed import Cursor
from shoptrail.testing import free_port

ROW_STEPS = [int(n) for n in os.environ.get("BENCH_ROWS", "100000,1000000").split(",")]
"""Sizes of the log measured, one after another (the chart draws latency against them)."""
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "300"))
CLIENTS = int(os.environ.get("BENCH_FEED_CLIENTS", "8"))
"""Owners paging at once for the throughput figure (each asks again as soon as answered)."""
THROUGHPUT_SECONDS = float(os.environ.get("BENCH_FEED_SECONDS", "10"))
REUSE = os.environ.get("BENCH_LATENCY_DB")
TOKEN = "bench-token"  # noqa: S105 - a throwaway service token for a local process
GOAL = 0.050


def p99(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=100)[98]


async def timed(
    client: httpx.AsyncClient, path: str, params: dict[str, Any] | list[dict[str, Any]]
) -> list[float]:
    """REQUESTS timed GETs; a list of params is cycled through (different search terms)."""
    choices = params if isinstance(params, list) else [params]
    samples = []
    for n in range(REQUESTS):
        started = time.perf_counter()
        response = await client.get(path, params=choices[n % len(choices)])
        samples.append(time.perf_counter() - started)
        assert response.status_code == 200, response.text
    return samples


async def per_second(client: httpx.AsyncClient, path: str) -> float:
    """Answers per second with CLIENTS closed-loop clients for THROUGHPUT_SECONDS."""
    answered = 0
    deadline = time.perf_counter() + THROUGHPUT_SECONDS

    async def one_client() -> None:
        nonlocal answered
        while time.perf_counter() < deadline:
            response = await client.get(path)
            assert response.status_code == 200, response.text
            answered += 1

    started = time.perf_counter()
    await asyncio.gather(*(one_client() for _ in range(CLIENTS)))
    return answered / (time.perf_counter() - started)


async def identifiers(conn: asyncpg.Connection) -> dict[str, list[str]]:
    """50 of each kind of identifier a shop owner pastes in, spread over the history."""
    rows = await conn.fetch(
        "SELECT customer_email, order_number, tracking_number, provider_order_id FROM orders "
        "TABLESAMPLE SYSTEM (1) REPEATABLE (7) LIMIT 50"
    )
    keys = ("customer_email", "order_number", "tracking_number", "provider_order_id")
    return {k: [r[k] for r in rows] for k in keys}


def searches(ids: dict[str, list[str]]) -> list[tuple[str, list[dict[str, Any]]]]:
    return [
        ("common words", [{"q": "notification sent to"}]),
        ("common words + a name", [{"q": "confirmation sent to olivia.smith"}]),
        ("a name", [{"q": "harrison"}]),
        ("an email", [{"q": e} for e in ids["customer_email"]]),
        ("an order number", [{"q": n} for n in ids["order_number"]]),
        ("a tracking number", [{"q": n} for n in ids["tracking_number"]]),
        ("a provider's order id", [{"q": n} for n in ids["provider_order_id"]]),
        ("a word in no entry", [{"q": "zanzibar"}]),
    ]


async def measure(db: str, size: int) -> list[Row]:
    conn = await asyncpg.connect(asyncpg_dsn(db))
    at, ident = await conn.fetchrow(
        "SELECT occurred_at, id FROM activity_log WHERE level <> 'debug' "
        "ORDER BY occurred_at DESC, id DESC OFFSET $1 LIMIT 1",
        9_999 * 50 - 1,
    ) or (datetime.now(UTC), 0)
    page_10k = Cursor(at, ident).encode()
    ids = await identifiers(conn)
    await conn.close()

    port = free_port()
    env = {"ACTIVITY_DATABASE_URL": db, "ACTIVITY_CONSUME": "false",
           "ACTIVITY_PORT": str(port), "ACTIVITY_SERVICE_TOKEN": TOKEN}  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    found: dict[str, list[float]] = {}
    with service(["shoptrail-activity", "serve"], env, f"{base}/healthz"):
        async with httpx.AsyncClient(
            base_url=base, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30
        ) as client:
            for _ in range(20):  # warm up connections and caches
                await client.get("/api/feed")
            health = await timed(client, "/healthz", {})
            first = await timed(client, "/api/feed", {})
            deep = await timed(client, "/api/feed", {"after": page_10k})
            attention = await timed(client, "/api/feed", {"tab": "attention"})
            category = await timed(client, "/api/feed", {"category": "emails"})
            for name, params in searches(ids):
                found[name] = await timed(client, "/api/feed", params)
            health_rate = await per_second(client, "/healthz")
            feed_rate = await per_second(client, "/api/feed")
    rows = f"{size / 1e6:g}M rows"
    page1, health_p99 = p99(first), p99(health)
    out = [
        Row(
            "latency",
            f"feed page 1 p99 vs /healthz ({rows})",
            page1,
            health_p99,
            "s/req",
            Goal("<=", 0.020, on="value"),
            Point("latency", "feed page 1", size),
        ),
        Row(
            "latency", "feed page 10,000 p99 vs page 1", p99(deep), page1, "s/req", Goal("<=", 1.5)
        ),
        Row("latency", "needs-attention page p99 vs page 1", p99(attention), page1, "s/req"),
        Row("latency", "category page p99 vs page 1", p99(category), page1, "s/req"),
        Row("latency", f"feed page 1 answers/s, {CLIENTS} clients, vs /healthz", feed_rate,
            health_rate, "req/s"),
    ]  # fmt: skip
    for name, samples in found.items():
        value = p99(samples)
        out += [
            Row("latency", f"search p99, {name}, vs /healthz ({rows})", value, health_p99, "s/req",
                Goal("<=", GOAL, on="value"), Point("latency", f"search: {name}", size)),
            Row("latency", "  the same vs feed page 1", value, page1, "s/req"),
        ]  # fmt: skip
    return out


async def drop(url: str, db: str) -> None:
    admin = await asyncpg.connect(asyncpg_dsn(url))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{make_url(db).database}" WITH (FORCE)')
    finally:
        await admin.close()


async def latency(url: str) -> list[Row]:
    if REUSE and len(ROW_STEPS) > 1:
        raise SystemExit("BENCH_LATENCY_DB names one populated database: give one BENCH_ROWS")
    rows: list[Row] = []
    for size in ROW_STEPS:
        rows += await latency_at(url, size)
    return rows


async def latency_at(url: str, size: int) -> list[Row]:
    started = time.monotonic()
    if REUSE:
        db = make_url(url).set(database=REUSE).render_as_string(hide_password=False)
        await migrate(db)
    else:
        db = await fresh_database(url, "bench_latency")
        await migrate(db)
        took = await populate(asyncpg_dsn(db), size)
        print(f"[bench] {size:,} rows written in {took:.0f}s", file=sys.stderr, flush=True)
    try:
        return await measure(db, size)
    finally:
        if not REUSE:
            await drop(url, db)
        took = time.monotonic() - started
        print(f"[bench] latency suite took {took:.0f}s", file=sys.stderr, flush=True)


def run() -> list[Row]:
    _, url = connection_info()
    return asyncio.run(latency(url))
