"""The one place the notifier is assembled: ports, adapters, consumers, jobs and routes."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import procrastinate
from fastapi import FastAPI
from faststream.kafka import KafkaBroker
from jinja2 import Environment
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

import shoptrail.notifier
from shoptrail.events.outbox import OutboxRelay
from shoptrail.events.publisher import create_broker
from shoptrail.notifier.adapters.clock import SystemClock
from shoptrail.notifier.adapters.jobs import ProcrastinateEmailQueue, create_job_app
from shoptrail.notifier.adapters.smtp import SmtpMailer
from shoptrail.notifier.adapters.tables import event_outbox
from shoptrail.notifier.adapters.templates import TemplateComposer, template_environment
from shoptrail.notifier.adapters.uow import PostgresUnitOfWork
from shoptrail.notifier.config import Settings
from shoptrail.notifier.domain.tokens import UnsubscribeTokens
from shoptrail.notifier.service_layer.ports import Clock, EmailQueue, Mailer, UnitOfWork


@dataclass
class Notifier:
    """The assembled service: what entrypoints hand to the use cases."""

    settings: Settings
    engine: AsyncEngine
    clock: Clock
    mailer: Mailer
    templates: Environment
    tokens: UnsubscribeTokens
    composer: TemplateComposer
    jobs: procrastinate.App
    queue: EmailQueue

    def uow(self) -> UnitOfWork:
        """A fresh unit of work (one per use-case call)."""
        return PostgresUnitOfWork(self.engine, topic=self.settings.notifier_topic)

    def outbox_relay(self, broker: KafkaBroker) -> OutboxRelay:
        """The relay that moves this service's staged events to Kafka."""
        return OutboxRelay(engine=self.engine, broker=broker, table=event_outbox)

    async def aclose(self) -> None:
        await self.engine.dispose()


def build_notifier(
    settings: Settings,
    *,
    clock: Clock | None = None,
    mailer: Mailer | None = None,
    periodic_tasks: bool = True,
) -> Notifier:
    """Assemble the notifier; tests pass their own clock (and may leave out periodic tasks)."""
    from shoptrail.notifier.entrypoints.jobs import register_tasks

    tokens = UnsubscribeTokens(settings.unsubscribe_secret.get_secret_value().encode())
    templates = template_environment()
    jobs = create_job_app(settings.database_url)
    notifier = Notifier(
        settings=settings,
        engine=create_async_engine(settings.database_url, pool_pre_ping=True),
        clock=clock or SystemClock(),
        mailer=mailer
        or SmtpMailer(
            host=settings.smtp_host,
            port=settings.smtp_port,
            security=settings.smtp_security,
            username=settings.smtp_username,
            password=settings.smtp_password,
            timeout=settings.smtp_timeout_s,
            validate_certs=settings.smtp_validate_certs,
        ),
        templates=templates,
        tokens=tokens,
        composer=TemplateComposer(
            templates, tokens=tokens, public_base_url=settings.public_base_url
        ),
        jobs=jobs,
        queue=ProcrastinateEmailQueue(jobs),
    )
    register_tasks(notifier, periodic=periodic_tasks)
    return notifier


def create_consumer_broker(notifier: Notifier) -> KafkaBroker:
    """A Kafka broker with the notifier's subscribers registered."""
    from shoptrail.notifier.entrypoints.consumers import subscribe

    broker = create_broker(notifier.settings.kafka_bootstrap, client_id="shoptrail-notifier")
    subscribe(broker, notifier)
    return broker


@contextlib.asynccontextmanager
async def running_consumers(notifier: Notifier) -> AsyncIterator[None]:
    """Consume order and checkout events and relay the outbox, until the block ends."""
    broker = create_consumer_broker(notifier)
    async with notifier.jobs.open_async(), broker:
        await broker.start()
        relay = notifier.outbox_relay(broker)
        relaying = asyncio.create_task(relay.run(), name="outbox-relay")
        try:
            yield
        finally:
            relay.stop()
            await relaying


def create_app(
    settings: Settings, notifier: Notifier | None = None, *, run_consumers: bool = True
) -> FastAPI:
    """Build the notifier's HTTP app; with `run_consumers`, its lifespan also consumes Kafka."""
    from shoptrail.notifier.entrypoints.api import settings_router, unsubscribe_router

    service = notifier or build_notifier(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            if run_consumers:
                async with running_consumers(service):
                    yield
            else:
                yield
        finally:
            if notifier is None:
                await service.aclose()

    app = FastAPI(
        title="Shoptrail notifier",
        description=shoptrail.notifier.__doc__ or "",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.notifier = service
    app.include_router(settings_router(settings))
    app.include_router(unsubscribe_router())

    @app.get("/healthz", tags=["operations"])
    async def health() -> dict[str, str]:
        """Liveness: the process is up and serving."""
        return {"status": "ok", "service": "notifier"}

    return app
