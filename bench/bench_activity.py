"""The activity log: consume-to-database throughput.

Throughput (1 KB events, real Kafka and PostgreSQL, the real service process):
  * the service's batched consumer, against a raw COPY of the same pre-built rows
    into an identical table (same indexes and triggers) — target >= 70%; measured in
    BENCH_ROUNDS (default 5) adjacent pairs, each into a fresh database, the median pair
    reported, because a shared machine's busy second can land on either side of one pair;
  * against a naive consumer that INSERTs and commits once per event — target >= 10x;
  * the write strategies, 500 entries per transaction: binary COPY with ids drawn from
    the sequence inside a savepoint (used; duplicates fall back to unnest), unnest
    ON CONFLICT, one JSON document (json_to_recordset), COPY into a temp table.
Feed and search latency are bench_latency.py's.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from common import Goal, Row
from infra import (
    asyncpg_dsn,
    backend_pids,
    connection_info,
    cpu_seconds,
    fresh_database,
    namespace,
    service,
)
from pydantic_core import to_json
from sqlalchemy.engine import make_url

from shoptrail.activity.adapters.migrate import migrate
from shoptrail.activity.adapters.store import (
    INSERT_ENTRIES,
    LOG_COLUMNS,
    batch_columns,
    entry_row,
    insert_entries,
)
from shoptrail.activity.domain.entries import LogEntry, entry_from_event
from shoptrail.events import Money, decode, encode, new_event
from shoptrail.events.common import LineItem
from shoptrail.events.ingest import OrderCreated
from shoptrail.events.producer import Producer
from shoptrail.events.publisher import EventPublisher
from shoptrail.testing import free_port

EVENTS = int(os.environ.get("BENCH_EVENTS", "60000"))
NAIVE_EVENTS = int(os.environ.get("BENCH_NAIVE_EVENTS", "1500"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
TOKEN = "bench-token"  # noqa: S105 - a throwaway service token for a local process
JSON_RECORDSET = """
INSERT INTO {log} (event_id, event_type, source, category, level, order_id, message,
                   payload, correlation_id, occurred_at)
SELECT * FROM json_to_recordset($1::json) AS r(
    event_id uuid, event_type text, source text, category text, level text, order_id text,
    message text, payload jsonb, correlation_id text, occurred_at timestamptz)
ON CONFLICT (event_id) DO NOTHING RETURNING id, event_id
"""


def json_document(entries: list[LogEntry]) -> str:
    keys = ("event_id", "event_type", "source", "category", "level", "order_id", "message")
    return to_json(
        [
            {k: getattr(e, k) for k in keys}
            | {"payload": e.data, "correlation_id": e.correlation_id, "occurred_at": e.occurred_at}
            for e in entries
        ]
    ).decode()


def one_kb_event(n: int) -> Any:
    """An order with two line items and a shipping address: 1 KB on the wire."""
    items = tuple(
        LineItem(
            product_id=f"prod_{n:08d}_{i}",
            name=f"Mountain Tee {i}",
            variant="M Black",
            quantity=1,
            unit_price=Money(amount=1900, currency="GBP"),
            product_url=f"https://shop.example.com/products/mountain-tee-{i}",
        )
        for i in range(2)
    )
    data = OrderCreated.example().model_copy(
        update={"order_id": f"ord_{n}", "order_number": f"SS-{n:08d}", "line_items": items}
    )
    return new_event(data, source="/bench")


async def identical_table(conn: asyncpg.Connection, name: str, like: str = "activity_log") -> None:
    """A plain table shaped like the log, one row per event id (the partitioned log keeps
    that in its side table, migration 0012; here a unique index does, as it did before)."""
    await conn.execute(f"CREATE TABLE {name} (LIKE {like} INCLUDING ALL)")
    await conn.execute(f"ALTER TABLE {name} ADD UNIQUE (event_id)")
    await conn.execute(f"SELECT activity_counts_attach('{name}')")


async def publish(bootstrap: str, topic: str, events: list[Any]) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    await admin.create_topics([NewTopic(topic, 3, 1)])
    await admin.close()
    async with Producer(bootstrap, client_id="bench", linger_ms=5) as producer:
        publisher = EventPublisher(producer, topic)
        for i in range(0, len(events), 2000):
            await publisher.publish_all(events[i : i + 2000])


@dataclass
class CpuUse:
    """Where a consumer's time went: CPU seconds of its process and of its database's
    backends, over the same steady window the rate is measured in."""

    service_pid: int
    events: int = 0
    service_s: float = 0.0
    postgres_s: float = 0.0
    _pids: list[int] = field(default_factory=list)

    async def start(self, dsn: str) -> None:
        self._pids = await backend_pids(dsn, make_url(dsn).database or "")
        self.service_s = -cpu_seconds([self.service_pid])
        self.postgres_s = -cpu_seconds(self._pids)

    def stop(self, events: int) -> None:
        self.events = events
        self.service_s += cpu_seconds([self.service_pid])
        self.postgres_s += cpu_seconds(self._pids)


async def steady_rate(dsn: str, n: int, timeout: float = 600, cpu: CpuUse | None = None) -> float:
    """Entries per second from the first committed batch to the last entry.

    Process start-up and the consumer group's join are left out: they are paid
    once, not per event. Progress is read from the log's trigger-maintained
    counters, O(1): a `count(*)` every few ms would steal the CPU it measures.
    With `cpu`, also what the service and PostgreSQL spent over that window.
    """
    conn = await asyncpg.connect(dsn)
    first: tuple[float, int] | None = None
    total = "SELECT coalesce(sum(n), 0)::bigint FROM activity_counts"  # every log-like table
    try:
        already: int = await conn.fetchval(total)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            count: int = await conn.fetchval(total) - already
            now = time.monotonic()
            if first is None and count > 0:
                first = (now, count)
                if cpu is not None:
                    await cpu.start(dsn)
            if first and count >= n:
                if cpu is not None:
                    cpu.stop(count - first[1])
                return (count - first[1]) / (now - first[0])
            await asyncio.sleep(0.02)
    finally:
        await conn.close()
    raise TimeoutError(f"the log did not reach {n} entries")


async def naive_consumer(bootstrap: str, topic: str, dsn: str, table: str, n: int) -> float:
    """One INSERT and one COMMIT per event, the shape of a simple consumer."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, group_id=f"naive-{topic}",
        auto_offset_reset="earliest", enable_auto_commit=False,
    )  # fmt: skip
    conn = await asyncpg.connect(dsn)
    await consumer.start()
    sql = INSERT_ENTRIES.format(log=table)
    started = time.monotonic()
    done = 0
    try:
        async for record in consumer:
            entry = entry_from_event(decode(record.value or b""))
            async with conn.transaction():
                await conn.fetch(sql, *batch_columns([entry]))
            await consumer.commit()
            done += 1
            if done >= n:
                break
    finally:
        await consumer.stop()
        await conn.close()
    return n / (time.monotonic() - started)


async def raw_copy_rate(dsn: str, entries: list[LogEntry], table: str) -> float:
    """The baseline: one COPY of the pre-built rows into a table identical to the log."""
    rate, _ = await raw_copy(dsn, entries, table)
    return rate


async def raw_copy(dsn: str, entries: list[LogEntry], table: str) -> tuple[float, float]:
    """`raw_copy_rate`, and the CPU seconds per row its PostgreSQL backend spent."""
    conn = await asyncpg.connect(dsn)
    try:
        await identical_table(conn, table)
        backend = [conn.get_server_pid()]
        started, cpu = time.monotonic(), cpu_seconds(backend)
        await conn.copy_records_to_table(
            table, records=map(entry_row, entries), columns=LOG_COLUMNS
        )
        elapsed, cpu = time.monotonic() - started, cpu_seconds(backend) - cpu
        return len(entries) / elapsed, cpu / len(entries)
    finally:
        await conn.close()


async def service_rate(
    bootstrap: str, db: str, ns: str, group: str, cpu: list[CpuUse] | None = None
) -> float:
    """The real service process consuming the topic from the start into the log.

    With `cpu`, what the process and PostgreSQL spent is appended to it."""
    env = {
        "ACTIVITY_DATABASE_URL": db, "ACTIVITY_KAFKA_BOOTSTRAP": bootstrap,
        "ACTIVITY_TOPIC_PATTERN": rf"^{ns}\.[a-z]+$", "ACTIVITY_GROUP_ID": group,
        "ACTIVITY_PORT": str(free_port()), "ACTIVITY_SERVICE_TOKEN": TOKEN,
    }  # fmt: skip
    with service(["shoptrail-activity", "serve"], env, None) as pid:
        use = CpuUse(pid)
        rate = await steady_rate(asyncpg_dsn(db), EVENTS, cpu=use)
        if cpu is not None:
            cpu.append(use)
        return rate


async def write_strategies(dsn: str, entries: list[LogEntry]) -> list[Row]:
    """Same batches of 500, entries already built, through to commit: ten bound arrays
    vs one JSON document vs COPY into a temp table vs COPY in a savepoint (used)."""
    conn = await asyncpg.connect(dsn)
    for table in ("via_json", "via_unnest", "via_copy", "via_fast_copy"):
        await identical_table(conn, table)
    started = time.monotonic()
    for i in range(0, EVENTS, 500):
        async with conn.transaction():
            await conn.fetch(
                JSON_RECORDSET.format(log="via_json"), json_document(entries[i : i + 500])
            )
    json_rate = EVENTS / (time.monotonic() - started)
    started = time.monotonic()
    for i in range(0, EVENTS, 500):
        async with conn.transaction():
            await conn.fetch(
                INSERT_ENTRIES.format(log="via_unnest"), *batch_columns(entries[i : i + 500])
            )
    unnest_rate = EVENTS / (time.monotonic() - started)
    started = time.monotonic()
    for i in range(0, EVENTS, 500):
        async with conn.transaction():
            await conn.execute(
                f"CREATE TEMP TABLE stage ON COMMIT DROP AS SELECT {', '.join(LOG_COLUMNS)} "  # noqa: S608
                "FROM via_copy WITH NO DATA"
            )
            await conn.copy_records_to_table(
                "stage", records=map(entry_row, entries[i : i + 500]), columns=LOG_COLUMNS
            )
            await conn.execute(
                f"INSERT INTO via_copy ({', '.join(LOG_COLUMNS)}) SELECT {', '.join(LOG_COLUMNS)} "  # noqa: S608
                "FROM stage ON CONFLICT (event_id) DO NOTHING"
            )
    copy_stage_rate = EVENTS / (time.monotonic() - started)
    started = time.monotonic()
    for i in range(0, EVENTS, 500):
        async with conn.transaction():
            await insert_entries(conn, entries[i : i + 500], "via_fast_copy")
    fast_copy_rate = EVENTS / (time.monotonic() - started)
    await identical_table(conn, "naive_log")
    await conn.close()
    return [
        Row(
            "activity",
            "write: COPY + savepoint (used) vs unnest",
            fast_copy_rate,
            unnest_rate,
            "ev/s",
        ),
        Row("activity", "write: unnest vs json_to_recordset", unnest_rate, json_rate, "ev/s"),
        Row("activity", "write: unnest vs COPY via temp", unnest_rate, copy_stage_rate, "ev/s"),
    ]


async def throughput(bootstrap: str, url: str) -> list[Row]:
    """The consumer against a raw COPY, in ROUNDS adjacent pairs (median pair reported):
    on a shared machine a single pair can land on a busy second for either side."""
    ns = namespace()
    events = [one_kb_event(n) for n in range(EVENTS)]
    entries = [entry_from_event(e) for e in events]
    size = sum(len(encode(e)) for e in events) // len(events)
    await publish(bootstrap, f"{ns}.ingest", events)

    pairs: list[tuple[float, float]] = []
    uses: list[CpuUse] = []
    copy_cpu: list[float] = []
    for n in range(ROUNDS):
        db = await fresh_database(url, f"bench_activity_throughput_{n}")
        await migrate(db)
        copy_rate, copy_cpu_per_row = await raw_copy(asyncpg_dsn(db), entries, "copy_baseline")
        copy_cpu.append(copy_cpu_per_row)
        pairs.append((await service_rate(bootstrap, db, ns, f"{ns}-activity-{n}", uses), copy_rate))
    consumer, copy = sorted(pairs, key=lambda pair: pair[0] / pair[1])[len(pairs) // 2]
    service_cpu = statistics.median(u.service_s / u.events for u in uses)
    postgres_cpu = statistics.median(u.postgres_s / u.events for u in uses)
    spread = ", ".join(f"{c / b:.2f}" for c, b in pairs)
    print(f"[bench] consumer/COPY per round: {spread}", file=sys.stderr, flush=True)

    strategies = await write_strategies(asyncpg_dsn(db), entries)
    naive = await naive_consumer(
        bootstrap, f"{ns}.ingest", asyncpg_dsn(db), "naive_log", NAIVE_EVENTS
    )
    label = f"{size} B events, median of {ROUNDS}"
    return [
        Row(
            "activity",
            f"consumer vs raw COPY ({label})",
            consumer,
            copy,
            "ev/s",
            Goal(">=", 0.7),
        ),
        Row(
            "activity",
            "consumer vs naive insert+commit",
            consumer,
            naive,
            "ev/s",
            Goal(">=", 10),
        ),
        # Where the consumer's time goes, per event: its own process (Kafka, decoding,
        # building rows) and PostgreSQL (COPY, indexes, the order read model, changes),
        # each against what the raw COPY's backend spends on the same row.
        Row(
            "activity",
            "  CPU/event: consumer process vs COPY's postgres",
            service_cpu,
            statistics.median(copy_cpu),
            "s/ev",
        ),
        Row(
            "activity",
            "  CPU/event: consumer's postgres vs COPY's postgres",
            postgres_cpu,
            statistics.median(copy_cpu),
            "s/ev",
        ),
        *strategies,
    ]


def run() -> list[Row]:
    bootstrap, url = connection_info()
    return asyncio.run(throughput(bootstrap, url))
