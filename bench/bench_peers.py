"""Shoptrail's activity consumer against the tools a user would otherwise deploy.

The same BENCH_EVENTS (default 60,000) 1 KB events, the same Kafka and PostgreSQL,
each run into a fresh database made by activity's migrations (the real `activity_log`
with all its indexes and triggers), idempotent on the event id. Timed as
bench_activity times the consumer: from the first committed row to the last
(process start-up and the consumer group's join left out). Goal: Shoptrail's
consumer >= 1.5x the best peer. Peers (fetched and built by `make bench-tools`):

  * Kafka Connect 4.1.1 standalone worker + the Debezium JDBC sink connector 3.6.0,
    upsert on event_id, unnest inserts, batches of 2,000. Its records need a schema
    and there is no schema registry here, so its producer writes JsonConverter's
    envelope (schemas.enable): a copy of the events as the rows the log stores (the
    log's columns, derived by Shoptrail's own code, with Debezium's semantic types for
    uuid, jsonb and timestamptz). Connect reads that copy; it derives nothing, so the
    comparison favours it.
  * Benthos v4.27.0: kafka input → Bloblang mapping of the CloudEvents JSON to the
    log's columns (it renders the message as Shoptrail does, for the one event type
    here) → sql_insert (postgres driver), 2,000-row INSERTs, 2 in flight,
    ON CONFLICT DO NOTHING.

Shoptrail's consumer also keeps its order snapshots and live notices, which the
peers do not. Each run checks that all events were logged once, and one row's
message and payload as Shoptrail writes them. Each round runs all three (and a raw
COPY of the same rows, the ceiling) adjacent in time; BENCH_PEERS_ROUNDS (default 3)
rounds, the median round reported.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import asyncpg
from bench_activity import (
    EVENTS,
    identical_table,
    one_kb_event,
    publish,
    raw_copy_rate,
    service_rate,
    steady_rate,
)
from common import Goal, Point, Row
from infra import REPO, asyncpg_dsn, connection_info, fresh_database, namespace, stop
from sqlalchemy.engine import make_url

from shoptrail.activity.adapters.migrate import migrate
from shoptrail.activity.adapters.store import LOG_COLUMNS
from shoptrail.activity.domain.entries import LogEntry, entry_from_event
from shoptrail.events import encode
from shoptrail.events.producer import Producer
from shoptrail.testing import free_port

ROUNDS = int(os.environ.get("BENCH_PEERS_ROUNDS", "3"))
PEER_TIMEOUT = float(os.environ.get("BENCH_PEERS_TIMEOUT", "300"))
SETUP = REPO / "bench" / "peers" / "setup.sh"
GOAL = 1.5

CONNECT_BATCH = 2000
"""Debezium's batch.size and the worker's max.poll.records (defaults 500 each)."""
CONNECT_TASKS = 1
"""One task: 3 (one per partition) was slower on 2 cores (1,400 vs 2,250 ev/s)."""
BENTHOS_BATCH = 2000
"""Rows per multi-row INSERT (11 parameters a row; PostgreSQL allows 65,535). Tried with
max_in_flight: 1000/2 1,460 ev/s, 500/8 1,090, 2000/4 2,770, 4000/4 2,830, 2000/2 3,200."""
BENTHOS_IN_FLIGHT = 2

ROW_SCHEMA = {
    "type": "struct",
    "name": "shoptrail.activity.LogRow",
    "optional": False,
    "fields": [
        {"field": "event_id", "type": "string", "optional": False, "name": "io.debezium.data.Uuid"},
        {"field": "event_type", "type": "string", "optional": False},
        {"field": "source", "type": "string", "optional": False},
        {"field": "category", "type": "string", "optional": False},
        {"field": "level", "type": "string", "optional": False},
        {"field": "order_id", "type": "string", "optional": True},
        {"field": "message", "type": "string", "optional": False},
        {"field": "payload", "type": "string", "optional": False, "name": "io.debezium.data.Json"},
        {"field": "correlation_id", "type": "string", "optional": True},
        {
            "field": "occurred_at",
            "type": "string",
            "optional": False,
            "name": "io.debezium.time.ZonedTimestamp",
        },
        {"field": "trace_id", "type": "string", "optional": True},
    ],
}


def connect_record(e: LogEntry) -> bytes:
    """One log row in JsonConverter's schema-and-payload envelope."""
    row = {
        "event_id": str(e.event_id), "event_type": e.event_type, "source": e.source,
        "category": e.category, "level": e.level, "order_id": e.order_id,
        "message": e.message, "payload": e.payload, "correlation_id": e.correlation_id,
        "occurred_at": e.occurred_at.isoformat(), "trace_id": e.trace_id,
    }  # fmt: skip
    return json.dumps({"schema": ROW_SCHEMA, "payload": row}, ensure_ascii=False).encode()


async def publish_rows(bootstrap: str, topic: str, entries: list[LogEntry]) -> None:
    """The Connect peer's input: the rows, keyed by order as the events are."""
    await publish(bootstrap, topic, [])  # creates the topic: 3 partitions, as the events'
    async with Producer(bootstrap, client_id="bench", linger_ms=5) as producer:
        for i in range(0, len(entries), 2000):
            sent = [
                await producer.send(topic, connect_record(e), key=(e.order_id or "").encode())
                for e in entries[i : i + 2000]
            ]
            await asyncio.gather(*sent)


def tools() -> Path:
    """The peers' folder in the cache, fetched and built on first use."""
    out = subprocess.run(["bash", str(SETUP)], check=True, capture_output=True, text=True)
    return Path(out.stdout.strip().splitlines()[-1])


@contextlib.contextmanager
def process(command: list[str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A peer's process for the duration of a block, its output kept in `log`."""
    with log.open("wb") as out:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, cwd=log.parent)
    try:
        yield proc
    finally:
        stop(proc, timeout=30)


def properties(values: dict[str, object]) -> str:
    return "".join(f"{key}={value}\n" for key, value in values.items())


def connect_files(
    work: Path, tools_dir: Path, bootstrap: str, db: str, topic: str, group: str
) -> list[str]:
    """The standalone worker's and the connector's configuration; returns the command."""
    url = make_url(db)
    (work / "log4j2.properties").write_text(
        "rootLogger.level=WARN\nrootLogger.appenderRef.out.ref=out\n"
        "appender.out.type=Console\nappender.out.name=out\n"
        "appender.out.layout.type=PatternLayout\nappender.out.layout.pattern=%d %p %c: %m%n\n"
    )
    worker = {
        "bootstrap.servers": bootstrap,
        "key.converter": "org.apache.kafka.connect.storage.StringConverter",
        "value.converter": "org.apache.kafka.connect.json.JsonConverter",
        "value.converter.schemas.enable": "true",
        "offset.storage.file.filename": work / "offsets",
        "plugin.path": tools_dir / "plugins",
        "plugin.discovery": "service_load",  # the worker's advice: faster start, same plugins
        "listeners": f"http://127.0.0.1:{free_port()}",
        "consumer.max.poll.records": CONNECT_BATCH,
    }
    connector = {
        "name": group,  # the sink's consumer group is connect-<name>
        "connector.class": "io.debezium.connector.jdbc.JdbcSinkConnector",
        "tasks.max": CONNECT_TASKS,
        "topics": topic,
        "connection.url": f"jdbc:postgresql://{url.host}:{url.port}/{url.database}",
        "connection.username": url.username,
        "connection.password": url.password,
        # Hibernate's own pool: Debezium's default (Agroal) is not served here.
        "connection.provider": "org.hibernate.engine.jdbc.connections.internal."
        "DriverManagerConnectionProviderImpl",
        "insert.mode": "upsert",
        "primary.key.mode": "record_value",
        "primary.key.fields": "event_id",
        "schema.evolution": "none",
        "collection.name.format": "activity_log",
        "batch.size": CONNECT_BATCH,
        # One INSERT … SELECT FROM unnest(arrays) per batch, as Shoptrail's fallback path
        # does (2,250 vs 2,030 ev/s for row-by-row JDBC batches); it binds by Debezium's
        # semantic types, which the record schema carries.
        "dialect.postgres.unnest.insert.enabled": "true",
    }
    (work / "worker.properties").write_text(properties(worker))
    (work / "connector.properties").write_text(properties(connector))
    return [
        "java", f"-Dlog4j2.configurationFile={work / 'log4j2.properties'}",
        "-cp", f"{tools_dir / 'connect-libs'}/*",
        "org.apache.kafka.connect.cli.ConnectStandalone",
        str(work / "worker.properties"), str(work / "connector.properties"),
    ]  # fmt: skip


BENTHOS_MAPPING = """
let created = this.type == "order.created"
root = [
  this.id, this.type, this.source,
  if $created { "orders" } else { "other" },
  "info",
  this.subject,
  if $created {
    "Order placed — %s%.2f via %s".format(
      match this.data.total.currency { "GBP" => "£", "EUR" => "€", "USD" => "$", _ => "" },
      this.data.total.amount / 100, this.data.payment_method)
  } else { this.type },
  this.data.format_json(no_indent: true).string(),
  this.correlationid,
  this.time,
  this.traceparent.split("-").index(1).catch(null),
  meta("kafka_topic"),
  meta("kafka_partition").number(),
  meta("kafka_offset").number(),
]
"""


def benthos_files(
    work: Path, tools_dir: Path, bootstrap: str, db: str, topic: str, group: str
) -> list[str]:
    """kafka → sql_insert; returns the command."""
    url = make_url(db)
    dsn = f"postgres://{url.username}:{url.password}@{url.host}:{url.port}/{url.database}"
    config = {
        "http": {"enabled": False},
        "logger": {"level": "WARN"},
        "input": {
            "kafka": {
                "addresses": [bootstrap],
                "topics": [topic],
                "consumer_group": group,
                "start_from_oldest": True,
                "checkpoint_limit": 4 * BENTHOS_BATCH,
            }
        },
        "output": {
            "sql_insert": {
                "driver": "postgres",
                "dsn": f"{dsn}?sslmode=disable",
                "table": "activity_log",
                "columns": list(LOG_COLUMNS),
                "args_mapping": BENTHOS_MAPPING,
                "suffix": "ON CONFLICT (event_id) DO NOTHING",
                "max_in_flight": BENTHOS_IN_FLIGHT,
                "batching": {"count": BENTHOS_BATCH, "period": "50ms"},
            }
        },
    }
    (work / "benthos.json").write_text(json.dumps(config))  # YAML is a superset of JSON
    return [str(tools_dir / "benthos" / "benthos"), "-c", str(work / "benthos.json")]


Files = Callable[[Path, Path, str, str, str, str], list[str]]


async def plain_log(dsn: str) -> None:
    """The peers write `ON CONFLICT (event_id)` / upsert on the event id, which needs a unique
    index on the table itself: the partitioned log keeps one row per event in a side table
    (migration 0012) instead. They get a plain table shaped like the log with that index
    (and its counting triggers), which if anything spares them work Shoptrail does."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("ALTER TABLE activity_log RENAME TO activity_log_partitioned")
        await identical_table(conn, "activity_log", like="activity_log_partitioned")
    finally:
        await conn.close()


async def peer_rate(
    name: str, files: Files, tools_dir: Path, bootstrap: str, db: str, topic: str, group: str
) -> float:
    """A peer process consuming `topic` from the start (a new group) into the fresh log."""
    with tempfile.TemporaryDirectory(prefix=f"peer-{name}-") as tmp:
        work = Path(tmp)
        command = files(work, tools_dir, bootstrap, db, topic, group)
        with process(command, work / "out.log") as proc:
            try:
                return await steady_rate(asyncpg_dsn(db), EVENTS, PEER_TIMEOUT)
            except TimeoutError:
                kept = Path(tempfile.gettempdir()) / f"bench-peer-{name}.log"
                shutil.copy(work / "out.log", kept)
                raise RuntimeError(
                    f"{name} (exit {proc.poll()}) did not finish; see {kept}"
                ) from None


async def check_log(db: str, sample: LogEntry) -> None:
    """Every event once, and a row as Shoptrail writes it."""
    conn = await asyncpg.connect(asyncpg_dsn(db))
    try:
        n = await conn.fetchval("SELECT count(DISTINCT event_id) FROM activity_log")
        row = await conn.fetchrow(
            "SELECT message, payload = $2::jsonb AS same FROM activity_log WHERE event_id = $1",
            sample.event_id,
            sample.payload,
        )
    finally:
        await conn.close()
    assert n == EVENTS, f"{n} distinct events logged, {EVENTS} sent"
    assert row and row["message"] == sample.message and row["same"], row


async def rounds(bootstrap: str, url: str, tools_dir: Path) -> list[dict[str, float]]:
    ns = namespace()
    events = [one_kb_event(n) for n in range(EVENTS)]
    entries = [entry_from_event(e) for e in events]
    await publish(bootstrap, f"{ns}.ingest", events)
    await publish_rows(bootstrap, f"{ns}-connect-rows", entries)
    sizes = (len(encode(events[0])), len(connect_record(entries[0])))
    print(f"[bench] event {sizes[0]} B, Connect record {sizes[1]} B", file=sys.stderr)

    results = []
    for n in range(ROUNDS):
        rates: dict[str, float] = {}
        db = await fresh_database(url, "bench_peers_shoptrail")
        await migrate(db)
        rates["copy"] = await raw_copy_rate(asyncpg_dsn(db), entries, "copy_baseline")
        rates["shoptrail"] = await service_rate(bootstrap, db, ns, f"{ns}-activity-{n}")
        await check_log(db, entries[-1])
        for peer, files, topic in (
            ("connect", connect_files, f"{ns}-connect-rows"),
            ("benthos", benthos_files, f"{ns}.ingest"),
        ):
            db = await fresh_database(url, f"bench_peers_{peer}")
            await migrate(db)
            await plain_log(asyncpg_dsn(db))
            rates[peer] = await peer_rate(
                peer, files, tools_dir, bootstrap, db, topic, f"{ns}-{peer}-{n}"
            )
            await check_log(db, entries[-1])
        said = ", ".join(f"{k} {v:,.0f}" for k, v in rates.items())
        print(f"[bench] peers round {n} (ev/s): {said}", file=sys.stderr, flush=True)
        results.append(rates)
    return results


def median_round(
    results: list[dict[str, float]], ratio: Callable[[dict[str, float]], float]
) -> dict[str, float]:
    """The round whose ratio is the median: a value and its baseline from the same moment."""
    return sorted(results, key=ratio)[len(results) // 2]


def best_peer(rates: dict[str, float]) -> float:
    return max(rates["connect"], rates["benthos"])


def rows(results: list[dict[str, float]]) -> list[Row]:
    def pair(
        name: str,
        value: str,
        baseline: str | Callable[[dict[str, float]], float],
        goal: Goal | None = None,
        bar: str | None = None,
    ) -> Row:
        base = baseline if callable(baseline) else (lambda r: r[baseline])
        r = median_round(results, lambda r: r[value] / base(r))
        point = Point("throughput", bar) if bar else None
        return Row("peers", name, r[value], base(r), "ev/s", goal, point)

    label = f"median of {len(results)}"
    beats = Goal(">=", GOAL)
    return [
        pair(f"Shoptrail vs best peer ({label})", "shoptrail", best_peer, beats),
        pair("Shoptrail vs Connect + Debezium JDBC", "shoptrail", "connect", beats),
        pair("Shoptrail vs Benthos sql_insert", "shoptrail", "benthos", beats),
        pair("Shoptrail vs raw COPY", "shoptrail", "copy", bar="Shoptrail"),
        pair("Connect + Debezium JDBC vs raw COPY", "connect", "copy", bar="Connect + JDBC sink"),
        pair("Benthos sql_insert vs raw COPY", "benthos", "copy", bar="Benthos"),
        pair("raw COPY (the ceiling)", "copy", "copy", bar="raw COPY"),
    ]


async def drop_databases(url: str) -> None:
    admin = await asyncpg.connect(asyncpg_dsn(url))
    try:
        for name in ("shoptrail", "connect", "benthos"):
            await admin.execute(f'DROP DATABASE IF EXISTS "bench_peers_{name}" WITH (FORCE)')
    finally:
        await admin.close()


def run() -> list[Row]:
    bootstrap, url = connection_info()
    tools_dir = tools()
    try:
        results = asyncio.run(rounds(bootstrap, url, tools_dir))
    finally:
        asyncio.run(drop_databases(url))
    return rows(results)
