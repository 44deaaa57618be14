"""A running fulfilment service for tests: real PostgreSQL and Kafka, the fake provider.

Used by the service's integration tests and by cross-service tests that need
fulfilment running in-process.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, Protocol

import httpx
from procrastinate import App
from pydantic import SecretStr
from sqlalchemy import text

from shoptrail.events import Event, EventData, decode, new_event
from shoptrail.events.producer import Producer
from shoptrail.events.publisher import EventPublisher
from shoptrail.fulfilment.adapters.jobs import exhaustion_telemetry
from shoptrail.fulfilment.bootstrap import Services, create_app, open_services
from shoptrail.fulfilment.config import Settings
from shoptrail.fulfilment.devtools.fake_provider import FakeProvider
from shoptrail.fulfilment.entrypoints.tasks import build_job_app
from shoptrail.kit.jobs import record_job_errors


class TopicReader(Protocol):
    """Reads `count` records from a topic's start (the root conftest's `read_topic`)."""

    async def __call__(self, topic: str, count: int, timeout: float = 30.0) -> list[Any]: ...


class TopicSize(Protocol):
    """How many records a topic holds (the root conftest's `topic_size`)."""

    async def __call__(self, topic: str) -> int: ...


NEVER = "0 0 1 1 *"  # periodic jobs that should not fire during a test
PROVIDER_SETTINGS = ("printify_", "printful_", "provider_")
TOKEN = "test-service-token"  # noqa: S105 - a test-only bearer token


def settings_for_test(
    *,
    database_url: str,
    kafka_bootstrap: str,
    ingest: str,
    fulfilment: str,
    provider_url: str,
    **overrides: Any,
) -> Settings:
    """Settings for one test: its own topics, group and database; short timeouts."""
    values: dict[str, Any] = {
        "environment": "test",
        "database_url": database_url,
        "kafka_bootstrap": kafka_bootstrap,
        "ingest_topic": ingest,
        "fulfilment_topic": fulfilment,
        "consumer_group": f"fulfilment-{uuid.uuid4().hex[:8]}",
        "service_token": TOKEN,
        "printify_base_url": provider_url,
        "printful_base_url": provider_url,
        "provider_timeout_s": 0.5,
        "retry_backoff_s": 0.1,
        "retry_backoff_max_s": 0.5,
        "job_poll_interval_s": 0.1,
        "worker_heartbeat_s": 0.5,
        "stalled_after_s": 2.0,
        "stalled_check_cron": "* * * * * *",
        "poll_cron": NEVER,
        "sync_cron": NEVER,
    } | overrides
    return Settings(**values)


def settings_env(settings: Settings, **overrides: Any) -> dict[str, str]:
    """`settings` as FULFILMENT_* environment variables, for a service run as a process."""
    values = settings.model_dump() | overrides
    env = {}
    for name, value in values.items():
        if value is None:  # unset stays unset (the string "None" would be a value)
            continue
        shown = value.get_secret_value() if isinstance(value, SecretStr) else value
        env[f"FULFILMENT_{name.upper()}"] = str(shown)
    return env


@dataclass
class Shop:
    """The service under test, and handles on everything around it."""

    settings: Settings
    fake: FakeProvider
    services: Services
    api: httpx.AsyncClient
    publisher: EventPublisher
    read_topic: TopicReader

    async def publish(self, data: EventData) -> Event[EventData]:
        """Publish a fact to the ingest topic, as ingest would."""
        event = new_event(data, source="/services/ingest")
        await self.publisher.publish(event)
        return event

    async def events(self, count: int) -> list[Event[EventData]]:
        """The first `count` events fulfilment published, in topic order (one order: one key)."""
        records = await self.read_topic(self.settings.fulfilment_topic, count)
        return [decode(record.value) for record in records]

    async def sql(self, statement: str, **params: Any) -> Any:
        async with self.services.engine.connect() as conn:
            return (await conn.execute(text(statement), params)).scalar()

    async def order_status(self, order_id: str) -> str | None:
        status: str | None = await self.sql(
            "SELECT status FROM fulfilment_orders WHERE order_id = :id", id=order_id
        )
        return status

    async def wait_for(self, check: Callable[[], Any], timeout: float = 20.0) -> None:
        """Wait until the async `check()` is truthy."""
        async with asyncio.timeout(timeout):
            while not await check():  # noqa: ASYNC110 - polling state outside this loop
                await asyncio.sleep(0.05)

    @contextlib.asynccontextmanager
    async def worker(self, **settings: Any) -> AsyncIterator[None]:
        """A procrastinate worker running in this event loop for the block's duration.

        `settings` override the shop's for this worker; new provider settings (a
        token, a shop id) get provider clients of their own, as a restart would.
        """
        merged = self.settings.model_copy(update=settings)
        async with contextlib.AsyncExitStack() as stack:
            providers = self.services.providers
            if any(name.startswith(PROVIDER_SETTINGS) for name in settings):
                restarted = open_services(merged)
                stack.push_async_callback(restarted.aclose)
                providers = restarted.providers
            jobs = build_job_app(merged, uow=self.services.uow, providers=providers)
            await stack.enter_async_context(self._running(jobs, merged))
            yield

    @contextlib.asynccontextmanager
    async def _running(self, jobs: App, merged: Settings) -> AsyncIterator[None]:
        async with jobs.open_async():
            task = asyncio.create_task(
                jobs.run_worker_async(
                    name="test-worker",
                    concurrency=2,
                    install_signal_handlers=False,
                    fetch_job_polling_interval=merged.job_poll_interval_s,
                    update_heartbeat_interval=merged.worker_heartbeat_s,
                    stalled_worker_timeout=merged.stalled_after_s,
                    worker_middleware=[
                        record_job_errors(),
                        exhaustion_telemetry(self.services.uow),
                    ],
                )
            )
            try:
                yield
            finally:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task


@contextlib.asynccontextmanager
async def running_shop(
    settings: Settings, fake: FakeProvider, read_topic: TopicReader
) -> AsyncIterator[Shop]:
    """Start the HTTP app (consumers + outbox relay) against `settings`."""
    app = create_app(settings)
    services = open_services(settings)
    transport = httpx.ASGITransport(app=app)
    headers = {"Authorization": f"Bearer {TOKEN}"}
    producer = Producer(settings.kafka_bootstrap, client_id="test-ingest")
    try:
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(
                transport=transport, base_url="http://fulfilment", headers=headers
            ) as api,
            producer,
        ):
            yield Shop(
                settings=settings,
                fake=fake,
                services=services,
                api=api,
                publisher=EventPublisher(producer, settings.ingest_topic),
                read_topic=read_topic,
            )
    finally:
        await services.aclose()
