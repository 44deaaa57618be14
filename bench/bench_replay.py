"""Replay: how long an operator waits for `shoptrail-activity replay` of a shop's history.

BENCH_REPLAY_EVENTS (default 1,000,000) events of BENCH_REPLAY_ORDERS' lives
(order.created of 1 KB, the confirmation email, submitted, shipped; one order in
twenty fails its first submission, which the later success auto-resolves) are
published to three namespaced topics first (not timed). Then, in one run:

- the `shoptrail-activity replay` command, as an operator runs it, from its
  start to its exit: every topic read from the beginning into the side tables,
  the order read model projected, the swap (its progress line is shown);
- the baseline: a plain bulk load of the same rows, what `pg_restore` does:
  the log and orders tables as replay left them, COPYed (binary, from a file)
  into identical empty tables, then their indexes built. Goal: replay <= 1.5x.

With BENCH_REPLAY_DRY_RUN=1 (default) also `replay --dry-run` (read, decode
and build the entries, write nothing), to show where replay's time goes.
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from common import Goal, Row
from infra import asyncpg_dsn, connection_info, fresh_database, namespace

from shoptrail.activity.adapters.migrate import migrate
from shoptrail.events import Money, encode, new_event
from shoptrail.events.codec import kafka_headers
from shoptrail.events.common import LineItem
from shoptrail.events.fulfilment import OrderShipped, OrderSubmissionFailed, OrderSubmitted
from shoptrail.events.ingest import OrderCreated
from shoptrail.events.notifier import OrderConfirmationSent

EVENTS = int(os.environ.get("BENCH_REPLAY_EVENTS", "1000000"))
DRY_RUN = os.environ.get("BENCH_REPLAY_DRY_RUN", "1") == "1"
GOAL = 1.5
TOKEN = "bench-replay-token"  # noqa: S105 - a throwaway service token for a local process
ORDER = "ord_XXXXXXXXXX"  # placeholders in the templates
NUMBER = "SS-NNNNNNNNNN"
EMAIL = "email.placeholder@example.com"
TRACKING = "1ZTTTTTTTTTTTTTTTT"
EVENT_ID = uuid.UUID(int=0)
HISTORY = datetime(2020, 1, 1, tzinfo=UTC)
TIME = "2020-01-01T00:00:00Z"
NAMES = (
    "olivia", "amelia", "isla", "ava", "mia", "ivy", "lily", "sophia", "grace", "freya", "noah",
    "oliver", "george", "leo", "arthur", "harry", "oscar", "archie", "henry", "jack", "theo",
    "charlie", "priya", "yusuf", "chloe", "ella", "emily", "ruby", "zara", "omar",
)  # fmt: skip
SURNAMES = (
    "smith", "jones", "taylor", "brown", "williams", "wilson", "johnson", "davies", "patel",
    "robinson", "wright", "thompson", "evans", "walker", "white", "roberts", "green", "hall",
    "wood", "jackson", "clarke", "khan", "lewis", "harris", "martin",
)  # fmt: skip
DOMAINS = ("gmail.com", "outlook.com", "yahoo.co.uk", "icloud.com", "proton.me", "sky.com")


def _templates() -> dict[str, tuple[str, bytes, list[tuple[str, bytes]]]]:
    """Each event of an order's life, encoded once with placeholders: name → (topic suffix,
    value, headers). Substituting the placeholders costs ~2 µs an event where
    building and encoding each event costs ~50 µs: 1M events are published in seconds."""
    items = tuple(
        LineItem(
            product_id=f"prod_tee_{i}", name=f"Mountain Tee {i}", variant="M Black", quantity=1,
            unit_price=Money(amount=1900, currency="GBP"),
            product_url=f"https://shop.example.com/products/mountain-tee-{i}",
        )
        for i in range(2)
    )  # fmt: skip
    created = OrderCreated.example().model_copy(
        update={"order_id": ORDER, "order_number": NUMBER, "customer_email": EMAIL,
                "line_items": items}
    )  # fmt: skip
    datas = {
        "created": ("ingest", created),
        "confirmed": (
            "notifier",
            OrderConfirmationSent.example().model_copy(
                update={"order_id": ORDER, "recipient": EMAIL}
            ),
        ),
        "failed": (
            "fulfilment",
            OrderSubmissionFailed.example().model_copy(update={"order_id": ORDER}),
        ),
        "submitted": (
            "fulfilment",
            OrderSubmitted.example().model_copy(update={"order_id": ORDER}),
        ),
        "shipped": (
            "fulfilment",
            OrderShipped.example().model_copy(
                update={"order_id": ORDER, "tracking_number": TRACKING,
                        "tracking_url": f"https://track.example.com/{TRACKING}"}
            ),
        ),
    }  # fmt: skip
    out = {}
    for name, (suffix, data) in datas.items():
        event = new_event(data, source="/bench", id=EVENT_ID, time=HISTORY)
        headers = [(k, v.encode()) for k, v in kafka_headers(event).items()]
        out[name] = (suffix, encode(event), headers)
    return out


def order_life(n: int) -> list[str]:
    """Which events order `n` has, in order."""
    life = ["created", "confirmed"]
    if n % 20 == 7:
        life.append("failed")
    return [*life, "submitted", "shipped"]


def orders_for(events: int) -> int:
    total, n = 0, 0
    while total < events:
        total += len(order_life(n))
        n += 1
    return n


PLACEHOLDER = re.compile(
    "|".join(re.escape(p) for p in (ORDER, NUMBER, EMAIL, TRACKING, str(EVENT_ID), TIME))
)


def _parts(text: str) -> list[str]:
    """`text` split around its placeholders: literal, placeholder, literal, …"""
    parts, last = [], 0
    for found in PLACEHOLDER.finditer(text):
        parts += [text[last : found.start()], found.group()]
        last = found.end()
    return [*parts, text[last:]]


def _filled(parts: list[str], values: dict[str, str]) -> bytes:
    return "".join([values[p] if i % 2 else p for i, p in enumerate(parts)]).encode()


def records(events: int) -> Iterator[tuple[str, bytes, bytes, list[tuple[str, bytes]]]]:
    """(topic suffix, key, value, headers) of `events` events, orders 20 s apart."""
    templates = {
        name: (suffix, _parts(value.decode()), [(k, _parts(v.decode())) for k, v in headers])
        for name, (suffix, value, headers) in _templates().items()
    }
    made = 0
    n = 0
    while made < events:
        order = f"ord_{n:010d}"
        email = f"{NAMES[n % len(NAMES)]}.{SURNAMES[(n // 7) % len(SURNAMES)]}{n % 97}"
        swap = {
            ORDER: order, NUMBER: f"SS-{n:010d}", TRACKING: f"1Z{n:016d}",
            EMAIL: f"{email}@{DOMAINS[n % len(DOMAINS)]}",
        }  # fmt: skip
        for step, name in enumerate(order_life(n)):
            if made >= events:
                return
            suffix, value, headers = templates[name]
            at = HISTORY + timedelta(seconds=n * 20 + step * 60)
            h = os.urandom(16).hex()
            swap[str(EVENT_ID)] = f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
            swap[TIME] = f"{at.isoformat()[:19]}Z"
            yield (
                suffix,
                order.encode(),
                _filled(value, swap),
                [(k, _filled(v, swap)) for k, v in headers],
            )
            made += 1
        n += 1


async def publish(bootstrap: str, ns: str, events: int) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics(
            [NewTopic(f"{ns}.{suffix}", 3, 1) for suffix in ("ingest", "fulfilment", "notifier")]
        )
    finally:
        await admin.close()
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=20,
        max_batch_size=256 * 1024,
    )  # fmt: skip
    await producer.start()
    started = time.monotonic()
    try:
        pending = []
        for n, (suffix, key, value, headers) in enumerate(records(events), 1):
            pending.append(await producer.send(f"{ns}.{suffix}", value, key=key, headers=headers))
            if len(pending) >= 20_000:
                await asyncio.gather(*pending)
                pending.clear()
            if n % 200_000 == 0:
                print(
                    f"[bench] replay: {n:,}/{events:,} events published "
                    f"({n / (time.monotonic() - started):,.0f}/s)",
                    flush=True,
                )
        await asyncio.gather(*pending)
    finally:
        await producer.stop()


async def delete_topics(bootstrap: str, ns: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.delete_topics([f"{ns}.{s}" for s in ("ingest", "fulfilment", "notifier")])
    finally:
        await admin.close()


async def run_replay(bootstrap: str, db: str, ns: str, *, dry_run: bool) -> float:
    """Seconds from starting `shoptrail-activity replay` to its exit; its progress is shown."""
    env = os.environ | {
        "ACTIVITY_DATABASE_URL": db, "ACTIVITY_KAFKA_BOOTSTRAP": bootstrap,
        "ACTIVITY_TOPIC_PATTERN": rf"^{ns}\.[a-z]+$", "ACTIVITY_GROUP_ID": f"{ns}-activity",
        "ACTIVITY_SERVICE_TOKEN": TOKEN,
    }  # fmt: skip
    command = ["shoptrail-activity", "replay", *(["--dry-run"] if dry_run else [])]
    started = time.monotonic()
    proc = await asyncio.create_subprocess_exec(
        *command, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    assert proc.stdout is not None
    async for line in proc.stdout:
        print(f"[bench] replay: {line.decode().rstrip()}", flush=True)
    if await proc.wait() != 0:
        raise RuntimeError(f"{command} exited with {proc.returncode}")
    return time.monotonic() - started


TABLES = ("activity_log", "orders")


async def bulk_load(dsn: str, folder: Path) -> tuple[float, int]:
    """Seconds to COPY the replayed tables' rows into identical empty tables, then index them
    as the live tables are indexed (the same definitions); and how many log rows."""
    conn = await asyncpg.connect(dsn)
    try:
        definitions: dict[str, list[str]] = {}
        for table in TABLES:
            await conn.copy_from_table(table, output=str(folder / table), format="binary")
            await conn.execute(f"DROP TABLE IF EXISTS bulk_{table}")
            await conn.execute(
                f"CREATE TABLE bulk_{table} (LIKE {table} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"
            )
            rows = await conn.fetch(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = $1", table
            )
            definitions[table] = [
                re.sub(rf"\b{table}\b", f"bulk_{table}", d["indexdef"]).replace(
                    f"INDEX {d['indexname']} ", f"INDEX bulk_{d['indexname']} "
                )
                for d in rows
            ]
        await conn.execute("CHECKPOINT")  # both sides start without the other's dirty pages
        started = time.monotonic()
        for table in TABLES:
            await conn.copy_to_table(f"bulk_{table}", source=str(folder / table), format="binary")
            for statement in definitions[table]:
                await conn.execute(statement)
        seconds = time.monotonic() - started
        count: int = await conn.fetchval("SELECT count(*) FROM bulk_activity_log")
        for table in TABLES:
            await conn.execute(f"DROP TABLE bulk_{table}")
        return seconds, count
    finally:
        await conn.close()


async def run_async() -> list[Row]:
    bootstrap, url = connection_info()
    ns = namespace()
    print(f"[bench] replay: publishing {EVENTS:,} events to {ns}.*…", flush=True)
    await publish(bootstrap, ns, EVENTS)
    db = await fresh_database(url, "bench_replay")
    try:
        await migrate(db)
        dry = await run_replay(bootstrap, db, ns, dry_run=True) if DRY_RUN else float("nan")
        print("[bench] replay: the replay itself…", flush=True)
        replay_s = await run_replay(bootstrap, db, ns, dry_run=False)
        print("[bench] replay: the bulk load of the same rows…", flush=True)
        with tempfile.TemporaryDirectory(prefix="bench-replay-") as folder:
            load_s, logged = await bulk_load(asyncpg_dsn(db), Path(folder))
    finally:
        await delete_topics(bootstrap, ns)
        admin = await asyncpg.connect(asyncpg_dsn(url))
        try:
            await admin.execute('DROP DATABASE IF EXISTS "bench_replay" WITH (FORCE)')
        finally:
            await admin.close()
    label = f"{logged / 1e6:g}M events"
    rows = [
        Row(
            "replay",
            f"replay vs COPY + index build, {label}",
            replay_s,
            load_s,
            "s",
            Goal("<=", GOAL),
        )
    ]
    if DRY_RUN:
        rows.append(
            Row("replay", "  replay --dry-run (read + decode) vs COPY + index", dry, load_s, "s")
        )
    print(
        f"[bench] replay: {replay_s:.0f} s vs bulk load {load_s:.0f} s = {replay_s / load_s:.2f}x "
        f"(goal <= {GOAL}x: {'held' if replay_s / load_s <= GOAL else 'NOT held'})",
        file=sys.stderr,
        flush=True,
    )
    return rows


def run() -> list[Row]:
    return asyncio.run(run_async())
