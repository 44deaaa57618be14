"""The admin UI against the real activity service (and fulfilment, notifier where needed).

Every service runs for real, in this test's event loop, served by uvicorn on a
free local port — the admin UI talks to them over HTTP exactly as in
production, and a browser can reach them. Each test gets fresh databases and
its own Kafka topic namespace.
"""

from __future__ import annotations

import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from playwright.async_api import Browser, BrowserContext
from pydantic import SecretStr
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from shoptrail.activity.adapters.changes import ChangeLog
from shoptrail.activity.adapters.store import PostgresLogStore
from shoptrail.activity.bootstrap import create_app as create_activity
from shoptrail.activity.config import Settings as ActivitySettings
from shoptrail.activity.domain.entries import entry_from_event
from shoptrail.admin_ui.bootstrap import create_app as create_admin
from shoptrail.admin_ui.config import Settings as AdminSettings
from shoptrail.admin_ui.devtools.browser import Tab, launch_chromium, open_tab
from shoptrail.admin_ui.devtools.harness import AdminClient, ServeAdmin, Story, log_in
from shoptrail.admin_ui.devtools.serving import port_of, reserve_port, serving
from shoptrail.events import PRODUCERS, Event, EventData, topics
from shoptrail.events.producer import Producer
from shoptrail.events.publisher import EventPublisher
from shoptrail.kit.jobs import open_job_queue
from shoptrail.testing import NewTopicFactory
from shoptrail.testing.jobs import fail_a_job, queue_a_job

TOKEN = "test-service-token"
NOWHERE = "http://127.0.0.1:9"  # the discard port: nothing answers HTTP there


@asynccontextmanager
async def fresh_database(postgres_url: str) -> AsyncIterator[str]:
    """Another empty database (a second service in the same test needs its own)."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    dsn = make_url(postgres_url).set(drivername="postgresql").render_as_string(hide_password=False)
    admin = await asyncpg.connect(dsn)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield make_url(postgres_url).set(database=name).render_as_string(hide_password=False)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@dataclass
class Activity:
    """The running activity service, and ways to put entries into its log."""

    url: str
    engine: AsyncEngine
    bootstrap: str
    namespace: str | None = None

    async def log(self, *events: Event[EventData]) -> list[int]:
        """Write events into the log as its consumer would; returns the new entry ids."""
        result = await PostgresLogStore(self.engine).write([entry_from_event(e) for e in events])
        # The consumer's hub numbers its changes as soon as they commit (its `kick`); a
        # write from outside the service would otherwise wait for the hubs' timer.
        await ChangeLog(self.engine).number()
        return list(result.inserted_ids)

    async def publish(self, *events: Event[EventData]) -> None:
        """Publish to the producers' topics in this test's namespace, through real Kafka."""
        assert self.namespace, "use the live_activity fixture to publish"
        async with Producer(self.bootstrap, client_id="admin-ui-test") as producer:
            for event in events:
                owner = next(t for t, types in PRODUCERS.items() if type(event.data) in types)
                topic = owner.replace("shoptrail.", f"{self.namespace}.", 1)
                await EventPublisher(producer, topic).publish(event)

    async def api(self, method: str, path: str, **kwargs: Any) -> Any:
        headers = {"Authorization": f"Bearer {TOKEN}"}
        async with httpx.AsyncClient(base_url=self.url, headers=headers) as client:
            response = await client.request(method, path, **kwargs)
        assert response.is_success, response.text
        return response.json()


@pytest.fixture
def admin_socket() -> Iterator[socket.socket]:
    """Reserved before anything starts: the activity service must know the admin's origin."""
    sock = reserve_port()
    yield sock
    sock.close()


@pytest.fixture
def admin_port(admin_socket: socket.socket) -> int:
    return port_of(admin_socket)


def activity_settings(
    database_url: str, kafka_bootstrap: str, admin_port: int, namespace: str | None, port: int
) -> ActivitySettings:
    values: dict[str, Any] = {
        "environment": "test",
        "database_url": database_url,
        "kafka_bootstrap": kafka_bootstrap,
        "service_token": TOKEN,
        "consume": namespace is not None,
        "migrate_on_start": True,
        "metadata_max_age_ms": 1000,
        "batch_timeout_ms": 50,
    }
    values["port"] = port
    # Browsers on the admin's origin may open the live WebSocket, at this port.
    values["ws_allowed_origins"] = f"http://127.0.0.1:{admin_port}"
    values["ws_public_url"] = f"ws://127.0.0.1:{port}/ws"
    if namespace is None:
        # No Kafka (the discard port): a quiet activity never publishes a note anywhere.
        values["kafka_bootstrap"] = "127.0.0.1:9"
    else:
        values |= {
            "topic_pattern": rf"^{namespace}\.[a-z]+$",
            "group_id": f"{namespace}-activity",
            "notes_topic": f"{namespace}.activity",
        }
    return ActivitySettings(**values)


@asynccontextmanager
async def running_activity(
    database_url: str, kafka_bootstrap: str, admin_port: int, namespace: str | None
) -> AsyncIterator[Activity]:
    sock = reserve_port()
    settings = activity_settings(
        database_url, kafka_bootstrap, admin_port, namespace, port=port_of(sock)
    )
    engine = create_async_engine(settings.database_url)
    try:
        async with serving(create_activity(settings), sock) as url:
            yield Activity(url, engine, settings.kafka_bootstrap, namespace)
    finally:
        await engine.dispose()
        sock.close()


@pytest.fixture
async def activity(
    database_url: str, kafka_bootstrap: str, admin_port: int
) -> AsyncIterator[Activity]:
    """The activity service without its consumer: tests write entries into the log directly."""
    async with running_activity(database_url, kafka_bootstrap, admin_port, None) as running:
        yield running


@pytest.fixture
async def live_activity(
    database_url: str, kafka_bootstrap: str, admin_port: int
) -> AsyncIterator[Activity]:
    """The activity service consuming this test's own topics (`<namespace>.ingest`, …)."""
    namespace = f"t{uuid.uuid4().hex[:10]}"
    names = [
        t.replace("shoptrail.", f"{namespace}.", 1)
        for t in topics.EVENT_TOPICS  # `<ns>.activity`: staff notes
    ]
    kafka = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await kafka.start()
    await kafka.create_topics([NewTopic(n, 3, 1) for n in names])
    try:
        async with running_activity(
            database_url, kafka_bootstrap, admin_port, namespace
        ) as running:
            yield running
    finally:
        await kafka.delete_topics(
            [t for t in await kafka.list_topics() if t.startswith(namespace + ".")]
        )
        await kafka.close()


def admin_settings(activity_url: str, **overrides: Any) -> AdminSettings:
    values: dict[str, Any] = {
        "environment": "test",
        "activity_url": activity_url,
        "activity_token": TOKEN,
        "fulfilment_url": NOWHERE,
        "fulfilment_token": TOKEN,
        "notifier_url": NOWHERE,
        "notifier_token": TOKEN,
        "upstream_timeout_s": 10.0,
    }
    return AdminSettings(**(values | overrides))


@pytest.fixture
async def serve_admin(admin_socket: socket.socket) -> AsyncIterator[ServeAdmin]:
    """Starts the admin UI on its reserved port against the given services; returns its URL."""
    async with AsyncExitStack() as stack:

        async def start(activity: Activity, **overrides: Any) -> str:
            app = create_admin(admin_settings(activity.url, **overrides))
            return await stack.enter_async_context(serving(app, admin_socket))

        yield start


@pytest.fixture
async def admin(serve_admin: ServeAdmin, activity: Activity) -> str:
    """The admin UI's base URL, in front of the (quiet) activity service."""
    return await serve_admin(activity)


@pytest.fixture
async def client(admin: str) -> AsyncIterator[AdminClient]:
    """Logged in as the dev account."""
    async with httpx.AsyncClient(base_url=admin, follow_redirects=False, timeout=20) as http:
        yield AdminClient(http, await log_in(http))


@pytest.fixture
def story() -> Story:
    """Events starting two hours ago (so "today" and "2 hours ago" read as such)."""
    return Story(datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2))


# ---- job-running services with jobs in their queues (the Jobs page) --------------


@dataclass
class JobService:
    """A running service and the database its job queue lives in."""

    url: str
    conninfo: str

    async def fail(self, task: str, **args: Any) -> int:
        return await fail_a_job(self.conninfo, task, **args)

    async def wait(self, task: str, **args: Any) -> int:
        return await queue_a_job(self.conninfo, task, **args)

    async def state(self, job_id: int) -> str:
        async with open_job_queue(self.conninfo, stalled_after_s=60) as queue:
            return (await queue.get(job_id)).state.value


@pytest.fixture
async def fulfilment_jobs(
    postgres_url: str, kafka_bootstrap: str, new_topic: NewTopicFactory
) -> AsyncIterator[JobService]:
    from shoptrail.fulfilment.adapters.migrations.run import migrate
    from shoptrail.fulfilment.bootstrap import create_app
    from shoptrail.fulfilment.devtools.harness import settings_for_test

    async with fresh_database(postgres_url) as url:
        settings = settings_for_test(
            database_url=url,
            kafka_bootstrap=kafka_bootstrap,
            ingest=await new_topic("ingest"),
            fulfilment=await new_topic("fulfilment"),
            provider_url=NOWHERE,
            service_token=TOKEN,
        )
        await migrate(settings.database_url, settings.psycopg_conninfo)
        async with serving(create_app(settings)) as served:
            yield JobService(served, settings.psycopg_conninfo)


@pytest.fixture
async def notifier_jobs(postgres_url: str, kafka_bootstrap: str) -> AsyncIterator[JobService]:
    from shoptrail.notifier.adapters.migrations import migrate
    from shoptrail.notifier.bootstrap import create_app
    from shoptrail.notifier.config import Settings as NotifierSettings

    async with fresh_database(postgres_url) as url:
        await migrate(url)
        settings = NotifierSettings(
            environment="test",
            database_url=url,
            kafka_bootstrap=kafka_bootstrap,
            service_token=SecretStr(TOKEN),
        )
        async with serving(create_app(settings, run_consumers=False)) as served:
            yield JobService(
                served, make_url(url).set(drivername="postgresql").render_as_string(False)
            )


@pytest.fixture
def fulfilment(fulfilment_jobs: JobService) -> str:
    """The real fulfilment service (HTTP actions; no worker runs, so queued jobs stay queued)."""
    return fulfilment_jobs.url


@pytest.fixture
def notifier(notifier_jobs: JobService) -> str:
    """The real notifier's settings API (its consumers are not needed here)."""
    return notifier_jobs.url


# ---- the browser ----------------------------------------------------------------

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    async with launch_chromium() as launched:
        yield launched


@pytest.fixture
async def context(browser: Browser) -> AsyncIterator[BrowserContext]:
    """A fresh browser profile (no cookies) per test."""
    made = await browser.new_context(viewport={"width": 1200, "height": 900})
    made.set_default_timeout(15_000)
    yield made
    await made.close()


@pytest.fixture
async def tab(context: BrowserContext) -> Tab:
    return await open_tab(context)


@pytest.fixture
def artifacts() -> Path:
    """Where screenshots go (`test-artifacts/`, ignored by git)."""
    folder = REPO / "test-artifacts"
    folder.mkdir(exist_ok=True)
    return folder
