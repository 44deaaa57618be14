"""Activity test fixtures: a private topic namespace, a migrated database, the running app."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from shoptrail.activity.adapters.migrate import migrate
from shoptrail.activity.bootstrap import create_app
from shoptrail.activity.config import Settings
from shoptrail.events import PRODUCERS, Event, EventData, topics
from shoptrail.events.producer import Producer
from shoptrail.events.publisher import EventPublisher
from shoptrail.testing import free_port
from shoptrail.testing.waiting import eventually as wait_for

TOKEN = "test-service-token"


@dataclass
class Namespace:
    """Topics `<ns>.ingest`, `<ns>.fulfilment`, … standing in for `shoptrail.*`."""

    name: str
    bootstrap: str

    @property
    def pattern(self) -> str:
        return rf"^{self.name}\.[a-z]+$"

    def topic(self, canonical: str) -> str:
        return canonical.replace("shoptrail.", f"{self.name}.", 1)

    def topic_of(self, event: Event[EventData]) -> str:
        """The first producer that publishes this type (several may: job.exhausted)."""
        owners = [t for t, types in PRODUCERS.items() if type(event.data) in types]
        return self.topic(owners[0])

    async def publish(self, events: Sequence[Event[EventData]]) -> None:
        """Publish each event to its producer's topic and wait for Kafka's acks."""
        async with Producer(self.bootstrap, client_id="test-producer") as producer:
            by_topic: dict[str, list[Event[EventData]]] = {}
            for event in events:
                by_topic.setdefault(self.topic_of(event), []).append(event)
            for topic, batch in by_topic.items():
                await EventPublisher(producer, topic).publish_all(batch)

    async def publish_raw(self, canonical: str, value: bytes, key: bytes | None = None) -> None:
        async with Producer(self.bootstrap, client_id="test-producer") as producer:
            await producer.send_and_wait(self.topic(canonical), value, key=key)


@pytest.fixture
async def namespace(kafka_bootstrap: str) -> AsyncIterator[Namespace]:
    ns = Namespace(f"t{uuid.uuid4().hex[:10]}", kafka_bootstrap)
    names = [ns.topic(t) for t in topics.EVENT_TOPICS]  # `<ns>.activity`: staff notes
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    await admin.create_topics([NewTopic(n, 3, 1) for n in names])
    yield ns
    existing = [t for t in await admin.list_topics() if t.startswith(ns.name + ".")]
    await admin.delete_topics(existing)
    await admin.close()


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    await migrate(database_url)
    engine = create_async_engine(database_url)
    yield engine
    await engine.dispose()


def settings_for(database_url: str, namespace: Namespace | None, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "environment": "test",
        "database_url": database_url,
        "service_token": TOKEN,
        "consume": namespace is not None,
        "migrate_on_start": True,
        "metadata_max_age_ms": 1000,
        "batch_timeout_ms": 50,
    }
    if namespace is None:
        # No Kafka at all (the discard port): an app without its consumer must never publish
        # a note onto whatever broker listens on the default port.
        values["kafka_bootstrap"] = "127.0.0.1:9"
    else:
        values |= {
            "kafka_bootstrap": namespace.bootstrap,
            "notes_topic": namespace.topic(topics.ACTIVITY),
            "topic_pattern": namespace.pattern,
            "group_id": f"{namespace.name}-activity",
        }
    return Settings(**(values | overrides))


@pytest.fixture
def settings(engine: AsyncEngine, database_url: str, namespace: Namespace) -> Settings:
    return settings_for(database_url, namespace)


@pytest.fixture
async def api(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The app with its lifespan running (consumer included), and a client with the token."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport,
            base_url="http://activity",
            headers={"Authorization": f"Bearer {TOKEN}"},
        ) as client:
            yield client


LIVE_SECRET = "test-ws-secret"
LIVE_ORIGIN = "http://admin.test"
"""What `serve` replicas started by `replica_env` accept: the live token key, the page origin."""


def replica_env(database_url: str, namespace: Namespace, **settings: str) -> dict[str, str]:
    """Settings of a `shoptrail-activity serve` replica in the test's consumer group; each
    replica started with them shares the group's partitions (`serve_replica`)."""
    return {
        "ACTIVITY_ENVIRONMENT": "test",
        "ACTIVITY_DATABASE_URL": database_url,
        "ACTIVITY_KAFKA_BOOTSTRAP": namespace.bootstrap,
        "ACTIVITY_TOPIC_PATTERN": namespace.pattern,
        "ACTIVITY_GROUP_ID": f"{namespace.name}-activity",
        "ACTIVITY_METADATA_MAX_AGE_MS": "1000",
        "ACTIVITY_BATCH_TIMEOUT_MS": "20",
        "ACTIVITY_SERVICE_TOKEN": TOKEN,
        "ACTIVITY_WS_TOKEN_SECRET": LIVE_SECRET,
        "ACTIVITY_WS_ALLOWED_ORIGINS": LIVE_ORIGIN,
        **settings,
    }


async def serve_replica(env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    """Start one `serve` process with `env` on a free port; (process, http base) once ready."""
    port = free_port()
    proc = subprocess.Popen(
        ["shoptrail-activity", "serve"],
        env=os.environ | env | {"ACTIVITY_PORT": str(port)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"

    async def ready() -> bool:
        if proc.poll() is not None:
            pytest.fail(f"activity serve exited with {proc.returncode} before it was ready")
        with contextlib.suppress(httpx.HTTPError):
            async with httpx.AsyncClient(timeout=1) as client:
                return (await client.get(f"{base}/readyz")).status_code == 200
        return False

    # Generous: on a shared, loaded machine a process's imports alone took a minute.
    await wait_for(ready, "activity serve ready", timeout=180, every=0.2)
    return proc, base


async def logged(engine: AsyncEngine) -> tuple[int, int]:
    """(rows, distinct event ids) in the log: equal when nothing is doubled."""
    async with engine.connect() as conn:
        row = (
            await conn.execute(text("SELECT count(*), count(DISTINCT event_id) FROM activity_log"))
        ).one()
    return int(row[0]), int(row[1])


@pytest.fixture
def eventually() -> Callable[..., Awaitable[Any]]:
    """Poll `check()` until it returns a truthy value (returned) or fail after `timeout`."""

    async def poll(check: Callable[[], Awaitable[Any]], timeout: float = 30.0) -> Any:
        last: Any = None
        try:
            async with asyncio.timeout(timeout):
                while not (last := await check()):
                    await asyncio.sleep(0.1)
        except TimeoutError:
            pytest.fail(f"condition not met within {timeout}s (last value: {last!r})")
        return last

    return poll


@asynccontextmanager
async def served_api(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The app of `settings`, started (lifespan), behind a client holding the service token."""
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://activity",
            headers={"Authorization": f"Bearer {TOKEN}"},
        ) as client,
    ):
        yield client


@pytest.fixture
async def quiet_api(engine: AsyncEngine, database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """The API without a consumer: tests write entries through the store themselves."""
    async with served_api(settings_for(database_url, None)) as client:
        yield client


@pytest.fixture
def log(engine: AsyncEngine) -> Callable[..., Awaitable[list[int]]]:
    """Write events into the log as the consumer would; returns the new entry ids."""
    from shoptrail.activity.adapters.store import PostgresLogStore
    from shoptrail.activity.domain.entries import entry_from_event

    store = PostgresLogStore(engine)

    async def write(*events: Event[EventData]) -> list[int]:
        result = await store.write([entry_from_event(e) for e in events])
        return result.inserted_ids

    return write
