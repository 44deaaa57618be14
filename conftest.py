"""Real Kafka and PostgreSQL for every test that asks for them.

Each is obtained, in order: from connection settings in the environment
(`SHOPTRAIL_KAFKA_BOOTSTRAP`, `SHOPTRAIL_DATABASE_URL`); from testcontainers
when a Docker engine answers; otherwise from the local launcher
(`deploy/local/stack.py`), which starts them from the JDK and Debian packages.
Tests get a fresh topic and a fresh database each, so they never see each
other's data.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from sqlalchemy.engine import make_url

from shoptrail.testing import NewTopicFactory, TopicReader, TopicSize
from shoptrail.testing.hangs import watchdog

REPO = Path(__file__).resolve().parent
LAUNCHER = REPO / "deploy" / "local" / "stack.py"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> object:
    """A test about to hit its timeout first prints where its asyncio tasks wait."""
    marker = item.get_closest_marker("timeout")
    timeout = float(
        (marker.args[0] if marker and marker.args else item.config.getini("timeout")) or 0
    )
    if timeout <= 10:
        return (yield)
    with watchdog(item.nodeid, after=timeout - 5):
        return (yield)


LONGEST_FIRST = ("tests/faults/", "tests/e2e/", "tests/test_whole_shop.py")
"""Files that start a whole shop of their own and run for minutes (the fault suite for about
15). `make test` runs files in parallel (pytest-xdist, `--dist loadfile`); handing these out
first keeps one of them from starting last and running alone at the end."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        path = item.path.relative_to(REPO).as_posix()
        starts = [i for i, prefix in enumerate(LONGEST_FIRST) if path.startswith(prefix)]
        return starts[0] if starts else len(LONGEST_FIRST)

    items.sort(key=rank)  # stable: each file keeps its own order


FAULT_FIGURES = REPO / "test-artifacts" / "faults-parts"
"""Figures the fault suite measured, one file per pytest process (tests/faults/conftest.py)."""


def pytest_sessionstart(session: pytest.Session) -> None:
    if not hasattr(session.config, "workerinput"):  # the controller, or a run without workers
        shutil.rmtree(FAULT_FIGURES, ignore_errors=True)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The fault suite's figures, whichever worker measured them (kept in faults.json)."""
    measured = [
        figure
        for part in sorted(FAULT_FIGURES.glob("*.json"))
        for figure in json.loads(part.read_text())
    ]
    if not measured:
        return
    terminalreporter.section("fault suite: in / stored / missing / doubled / recovery")
    for figure in measured:
        terminalreporter.write_line(figure["line"])
    (FAULT_FIGURES.parent / "faults.json").write_text(json.dumps(measured, indent=2))


def _docker_engine_answers() -> bool:
    try:
        import docker

        docker.from_env(timeout=3).ping()
    except Exception:
        return False
    return True


def _launcher(component: str) -> dict[str, str]:
    result = subprocess.run(
        [sys.executable, str(LAUNCHER), "up", component, "--json"],
        check=True,
        capture_output=True,
        text=True,
        timeout=600,
    )
    info: dict[str, str] = json.loads(result.stdout)
    return info


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    """`host:port` of a real Kafka broker."""
    if bootstrap := os.environ.get("SHOPTRAIL_KAFKA_BOOTSTRAP"):
        yield bootstrap
    elif _docker_engine_answers():
        from testcontainers.kafka import KafkaContainer

        with KafkaContainer("apache/kafka:4.1.1").with_kraft() as kafka:
            yield kafka.get_bootstrap_server()
    else:
        yield _launcher("kafka")["SHOPTRAIL_KAFKA_BOOTSTRAP"]


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """SQLAlchemy URL (asyncpg driver) of a real PostgreSQL server's maintenance database."""
    if url := os.environ.get("SHOPTRAIL_DATABASE_URL"):
        yield url
    elif _docker_engine_answers():
        from testcontainers.postgres import PostgresContainer

        with PostgresContainer("postgres:16", driver="asyncpg") as pg:
            yield pg.get_connection_url()
    else:
        yield _launcher("postgres")["SHOPTRAIL_DATABASE_URL"]


def _asyncpg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture
async def database_url(postgres_url: str) -> AsyncIterator[str]:
    """A fresh, empty database for this test (dropped afterwards)."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(_asyncpg_dsn(postgres_url))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield make_url(postgres_url).set(database=name).render_as_string(hide_password=False)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture
async def new_topic(kafka_bootstrap: str) -> AsyncIterator[NewTopicFactory]:
    """Creates fresh topics (3 partitions) for this test, deleted afterwards."""
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    created: list[str] = []

    async def create(prefix: str = "test", partitions: int = 3) -> str:
        name = f"{prefix}-{uuid.uuid4().hex[:10]}"
        await admin.create_topics([NewTopic(name, partitions, replication_factor=1)])
        created.append(name)
        return name

    try:
        yield create
    finally:
        if created:
            await admin.delete_topics(created)
        await admin.close()


@pytest.fixture
def read_topic(kafka_bootstrap: str) -> TopicReader:
    """Reads `count` records from a topic's start (all partitions); fails after `timeout`."""

    async def read(topic: str, count: int, timeout: float = 30.0) -> list[ConsumerRecord]:
        consumer = AIOKafkaConsumer(
            topic,
            bootstrap_servers=kafka_bootstrap,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            group_id=None,
        )
        await consumer.start()
        records: list[ConsumerRecord] = []
        try:
            async with asyncio.timeout(timeout):
                while len(records) < count:
                    batch = await consumer.getmany(timeout_ms=500)
                    for partition_records in batch.values():
                        records.extend(partition_records)
        except TimeoutError:
            pytest.fail(f"read {len(records)} of {count} records from {topic} in {timeout}s")
        finally:
            await consumer.stop()
        return records

    return read


@pytest.fixture
def topic_size(kafka_bootstrap: str) -> TopicSize:
    """Counts every record in a (fresh, never compacted) topic."""

    async def size(topic: str) -> int:
        consumer = AIOKafkaConsumer(bootstrap_servers=kafka_bootstrap, group_id=None)
        await consumer.start()
        try:
            partitions = consumer.partitions_for_topic(topic) or set()
            if not partitions:
                await consumer._client.force_metadata_update()
                partitions = consumer.partitions_for_topic(topic) or set()
            ends = await consumer.end_offsets([TopicPartition(topic, p) for p in partitions])
        finally:
            await consumer.stop()
        return sum(ends.values())

    return size
