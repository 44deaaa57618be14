"""The one place the fulfilment application is assembled; nothing is created at import time."""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi import Depends, FastAPI
from procrastinate import PsycopgConnector
from prometheus_client import CollectorRegistry
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

import shoptrail.fulfilment
from shoptrail.events.consuming import FailureHandling
from shoptrail.events.health import Health
from shoptrail.events.outbox import OutboxRelay
from shoptrail.events.producer import Producer
from shoptrail.events.publisher import create_broker
from shoptrail.fulfilment.adapters.job_queue import QUEUE
from shoptrail.fulfilment.adapters.jobs import exhaustion_telemetry
from shoptrail.fulfilment.adapters.providers.metrics import InstrumentedTransport, ProviderMetrics
from shoptrail.fulfilment.adapters.providers.printful import PrintfulProvider
from shoptrail.fulfilment.adapters.providers.printify import PrintifyProvider
from shoptrail.fulfilment.adapters.tables import outbox
from shoptrail.fulfilment.adapters.unit_of_work import SOURCE, SqlUnitOfWork
from shoptrail.fulfilment.config import Settings
from shoptrail.fulfilment.domain.model import ProviderName
from shoptrail.fulfilment.entrypoints.api import build_router
from shoptrail.fulfilment.entrypoints.consumers import register_consumers
from shoptrail.fulfilment.entrypoints.tasks import build_job_app
from shoptrail.fulfilment.service_layer.ports import Provider
from shoptrail.kit.asyncapi import serve_asyncapi
from shoptrail.kit.auth import AUTH_RESPONSES, guard_operations, service_token_guard
from shoptrail.kit.health import health_router, register_health_metrics
from shoptrail.kit.inputs import INPUT_RESPONSES, StorableInput
from shoptrail.kit.jobs import open_job_queue, record_job_errors
from shoptrail.kit.jobs_api import jobs_router
from shoptrail.kit.lag import ConsumerLagSampler
from shoptrail.kit.metrics import instrument_http, serve_metrics
from shoptrail.kit.sampling import JobQueueSampler, OutboxSampler, PeriodicSampler, sampling
from shoptrail.kit.tracing import http_telemetry
from shoptrail.kit.workers import procrastinate_worker, serving, supervise, worker_door


@dataclass
class Services:
    """What every entry point shares: the database and the provider clients."""

    settings: Settings
    engine: AsyncEngine
    providers: dict[ProviderName, Provider]
    clients: list[httpx.AsyncClient] = field(default_factory=list)
    components: list[Health] = field(default_factory=list)
    """What `/readyz` and `/metrics` report on: consumers, relays, producers, workers."""

    def __post_init__(self) -> None:
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    async def database_answers(self) -> bool:
        """A real round trip to PostgreSQL."""
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        return True

    def uow(self) -> SqlUnitOfWork:
        """A fresh unit of work (one per request, message or job)."""
        return SqlUnitOfWork(self._sessions, topic=self.settings.fulfilment_topic)

    async def aclose(self) -> None:
        for client in self.clients:
            await client.aclose()
        await self.engine.dispose()


def open_services(settings: Settings, *, metrics: ProviderMetrics | None = None) -> Services:
    """Create the engine and the provider clients from settings.

    Provider calls are recorded in `metrics` (pass the process's, registered
    where its `/metrics` reads; by default they are counted nowhere visible).
    """
    timeout = httpx.Timeout(settings.provider_timeout_s)
    calls = metrics or ProviderMetrics()

    def client(provider: ProviderName, base_url: str, token: str) -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {token}", "User-Agent": "shoptrail-fulfilment"}
        transport = InstrumentedTransport(
            httpx.AsyncHTTPTransport(), provider=provider, metrics=calls
        )
        return httpx.AsyncClient(
            base_url=base_url, headers=headers, timeout=timeout, transport=transport
        )

    printify = client(
        "Printify", settings.printify_base_url, settings.printify_token.get_secret_value()
    )
    printful = client(
        "Printful", settings.printful_base_url, settings.printful_token.get_secret_value()
    )
    return Services(
        settings=settings,
        engine=create_async_engine(
            settings.database_url,
            pool_size=10,
            max_overflow=10,
            pool_pre_ping=True,
            hide_parameters=True,  # bound values are customer data: never in logs
        ),
        providers={
            "Printify": PrintifyProvider(printify, shop_id=settings.printify_shop_id),
            "Printful": PrintfulProvider(printful),
        },
        clients=[printify, printful],
    )


@contextlib.asynccontextmanager
async def relaying(
    services: Services, *, client_id: str = "fulfilment-relay"
) -> AsyncIterator[Any]:
    """Run the outbox relay (and the Kafka producer it needs) for the duration."""
    settings = services.settings
    async with Producer(settings.kafka, client_id=client_id) as producer:
        relay = OutboxRelay(engine=services.engine, producer=producer, table=outbox)
        services.components += [relay.health, producer.health]
        task = asyncio.create_task(relay.run(), name="outbox relay")
        try:
            yield relay
        finally:
            relay.stop()
            await task


def create_app(settings: Settings) -> FastAPI:
    """The HTTP app; its lifespan also runs the ingest consumers and the outbox relay."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        services = app.state.services = open_services(settings, metrics=provider_calls)
        app.state.uow_factory = services.uow
        consumer = create_broker(settings.kafka, client_id="fulfilment")
        try:
            async with (
                open_job_queue(
                    settings.psycopg_conninfo, stalled_after_s=settings.stalled_after_s
                ) as app.state.job_queue,
                relaying(services),
                Producer(settings.kafka, client_id="fulfilment-consumer") as producer,
                consumer,
            ):
                failures = FailureHandling.for_consumer(
                    producer,
                    group=settings.consumer_group,
                    fact_topic=settings.fulfilment_topic,
                    source=SOURCE,
                    rehearse=settings.rehearse_failures_for,
                )
                services.components += [failures.health, producer.health]
                app.state.kafka_answers = producer.ping
                register_consumers(consumer, settings, uow=services.uow, failures=failures)
                await consumer.start()
                async with sampling(samplers):
                    yield
        finally:
            await services.aclose()

    app = FastAPI(
        telemetry=http_telemetry(),
        title="Shoptrail fulfilment",
        description=shoptrail.fulfilment.__doc__ or "",
        version="0.1.0",
        lifespan=lifespan,
        responses=INPUT_RESPONSES,
    )
    app.add_middleware(StorableInput)
    guard_operations(app, environment=settings.environment, token=settings.service_token)
    serve_asyncapi(app)  # the bus's contract, beside the HTTP one (/openapi.json)
    app.state.settings = settings

    def components() -> list[Health]:
        services: Services | None = getattr(app.state, "services", None)
        return services.components if services else []

    async def database() -> bool:
        return bool(await app.state.services.database_answers())

    async def kafka() -> bool:
        return bool(await app.state.kafka_answers())

    app.include_router(
        health_router(
            "fulfilment", checks={"database": database, "kafka": kafka}, components=components
        )
    )
    registry = CollectorRegistry(auto_describe=True)
    register_health_metrics(registry, components)
    samplers = [
        ConsumerLagSampler(settings.kafka, settings.consumer_group, topics=[settings.ingest_topic]),
        OutboxSampler(lambda: app.state.services.engine, [outbox.name]),
    ]
    for sampler in samplers:
        registry.register(sampler)
    provider_calls = ProviderMetrics(registry)
    serve_metrics(app, registry)
    instrument_http(app, registry)

    guard = Depends(service_token_guard(settings.service_token))
    app.include_router(
        build_router(settings.max_submission_attempts),
        dependencies=[guard],
        responses=AUTH_RESPONSES,
    )
    app.include_router(jobs_router(), dependencies=[guard], responses=AUTH_RESPONSES)
    return app


def job_connector(settings: Settings) -> PsycopgConnector:
    """A fresh connector, with its own pool, for one run of the job worker."""
    timeout = settings.worker_db_timeout_s
    return PsycopgConnector(
        conninfo=settings.psycopg_conninfo,
        timeout=timeout,  # waiting for a pooled connection
        kwargs={"connect_timeout": max(2, math.ceil(timeout))},  # libpq's minimum is 2 s
    )


def worker_health_door(
    settings: Settings, services: Services, registry: CollectorRegistry
) -> tuple[FastAPI, list[PeriodicSampler]]:
    """The worker's `/healthz`, `/readyz` and `/metrics` (`registry`, the components' health,
    the outbox and the job queue), and the samplers to run while it serves."""
    door = worker_door(
        "fulfilment-worker",
        checks={"database": services.database_answers},
        components=lambda: services.components,
        registry=registry,
    )
    guard_operations(door, environment=settings.environment, token=settings.service_token)
    samplers: list[PeriodicSampler] = [
        OutboxSampler(lambda: services.engine, [outbox.name]),
        JobQueueSampler(lambda: services.engine, queues=[QUEUE]),
    ]
    for sampler in samplers:
        registry.register(sampler)
    return door, samplers


async def run_worker(
    settings: Settings, *, name: str = "fulfilment-worker", port: int | None = None
) -> None:
    """Run jobs and the outbox relay until cancelled; the worker restarts after any failure.

    Serves `/healthz`, `/readyz` and `/metrics` on `port` (default: `settings.worker_port`).
    """
    registry = CollectorRegistry(auto_describe=True)
    services = open_services(settings, metrics=ProviderMetrics(registry))
    jobs = build_job_app(settings, uow=services.uow, providers=services.providers)
    health = Health(f"worker:{name}")
    services.components.append(health)
    worker = procrastinate_worker(
        jobs,
        connector=lambda: job_connector(settings),
        name=name,
        concurrency=settings.worker_concurrency,
        fetch_job_polling_interval=settings.job_poll_interval_s,
        update_heartbeat_interval=settings.worker_heartbeat_s,
        stalled_worker_timeout=settings.stalled_after_s,
        worker_middleware=[record_job_errors(), exhaustion_telemetry(services.uow)],
    )
    door, samplers = worker_health_door(settings, services, registry)
    door_port = settings.worker_port if port is None else port
    try:
        async with (
            serving(door, host=settings.host, port=door_port),
            relaying(services),
            sampling(samplers),
        ):
            await supervise(worker, health=health)
    finally:
        await services.aclose()
