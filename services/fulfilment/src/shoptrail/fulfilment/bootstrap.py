"""The one place the fulfilment application is assembled; nothing is created at import time."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi import Depends, FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

import shoptrail.fulfilment
from shoptrail.events.outbox import OutboxRelay
from shoptrail.events.publisher import create_broker
from shoptrail.fulfilment.adapters.jobs import exhaustion_telemetry
from shoptrail.fulfilment.adapters.providers.printful import PrintfulProvider
from shoptrail.fulfilment.adapters.providers.printify import PrintifyProvider
from shoptrail.fulfilment.adapters.tables import outbox
from shoptrail.fulfilment.adapters.unit_of_work import SqlUnitOfWork
from shoptrail.fulfilment.config import Settings
from shoptrail.fulfilment.domain.model import ProviderName
from shoptrail.fulfilment.entrypoints.api import build_router
from shoptrail.fulfilment.entrypoints.consumers import register_consumers
from shoptrail.fulfilment.entrypoints.tasks import build_job_app
from shoptrail.fulfilment.service_layer.ports import Provider
from shoptrail.kit.auth import service_token_guard


@dataclass
class Services:
    """What every entry point shares: the database and the provider clients."""

    settings: Settings
    engine: AsyncEngine
    providers: dict[ProviderName, Provider]
    clients: list[httpx.AsyncClient] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    def uow(self) -> SqlUnitOfWork:
        """A fresh unit of work (one per request, message or job)."""
        return SqlUnitOfWork(self._sessions, topic=self.settings.fulfilment_topic)

    async def aclose(self) -> None:
        for client in self.clients:
            await client.aclose()
        await self.engine.dispose()


def open_services(settings: Settings) -> Services:
    """Create the engine and the provider clients from settings."""
    timeout = httpx.Timeout(settings.provider_timeout_s)

    def client(base_url: str, token: str) -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {token}", "User-Agent": "shoptrail-fulfilment"}
        return httpx.AsyncClient(base_url=base_url, headers=headers, timeout=timeout)

    printify = client(settings.printify_base_url, settings.printify_token.get_secret_value())
    printful = client(settings.printful_base_url, settings.printful_token.get_secret_value())
    return Services(
        settings=settings,
        engine=create_async_engine(settings.database_url, pool_size=10, max_overflow=10),
        providers={
            "Printify": PrintifyProvider(printify, shop_id=settings.printify_shop_id),
            "Printful": PrintfulProvider(printful),
        },
        clients=[printify, printful],
    )


@contextlib.asynccontextmanager
async def relaying(services: Services) -> AsyncIterator[Any]:
    """Run the outbox relay (and the Kafka producer it needs) for the duration."""
    settings = services.settings
    broker = create_broker(settings.kafka_bootstrap, client_id="fulfilment-relay")
    async with broker:
        await broker.start()
        relay = OutboxRelay(engine=services.engine, broker=broker, table=outbox)
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
        services = open_services(settings)
        app.state.uow_factory = services.uow
        consumer = create_broker(settings.kafka_bootstrap, client_id="fulfilment")
        register_consumers(consumer, settings, uow=services.uow)
        try:
            async with relaying(services), consumer:
                await consumer.start()
                yield
        finally:
            await services.aclose()

    app = FastAPI(
        title="Shoptrail fulfilment",
        description=shoptrail.fulfilment.__doc__ or "",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.settings = settings

    @app.get("/healthz", tags=["operations"])
    async def health() -> dict[str, str]:
        """Liveness: the process is up and serving."""
        return {"status": "ok", "service": "fulfilment"}

    app.include_router(
        build_router(settings.max_submission_attempts),
        dependencies=[Depends(service_token_guard(settings.service_token))],
    )
    return app


async def run_worker(settings: Settings, *, name: str = "fulfilment-worker") -> None:
    """Run jobs (and the outbox relay) until cancelled or signalled."""
    services = open_services(settings)
    jobs = build_job_app(settings, uow=services.uow, providers=services.providers)
    try:
        async with relaying(services), jobs.open_async():
            await jobs.run_worker_async(
                name=name,
                concurrency=settings.worker_concurrency,
                fetch_job_polling_interval=settings.job_poll_interval_s,
                update_heartbeat_interval=settings.worker_heartbeat_s,
                stalled_worker_timeout=settings.stalled_after_s,
                worker_middleware=[exhaustion_telemetry(services.uow)],
            )
    finally:
        await services.aclose()
