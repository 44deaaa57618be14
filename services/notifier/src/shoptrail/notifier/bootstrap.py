"""The one place the notifier is assembled: ports, adapters, consumers, jobs and routes."""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from email.headerregistry import Address

import procrastinate
from fastapi import Depends, FastAPI
from faststream.kafka import KafkaBroker
from jinja2 import Environment
from prometheus_client import CollectorRegistry
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

import shoptrail.notifier
from shoptrail.events.consuming import FailureHandling
from shoptrail.events.health import Health
from shoptrail.events.outbox import OutboxRelay
from shoptrail.events.producer import Producer
from shoptrail.events.publisher import create_broker
from shoptrail.kit import workers
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
from shoptrail.notifier.adapters.activity_client import ActivityEntries
from shoptrail.notifier.adapters.alert_store import AlertStore
from shoptrail.notifier.adapters.clock import SystemClock
from shoptrail.notifier.adapters.jobs import (
    ProcrastinateEmailQueue,
    create_job_app,
    psycopg_conninfo,
)
from shoptrail.notifier.adapters.journal import FileAcceptedJournal
from shoptrail.notifier.adapters.metrics import (
    CountingMailer,
    EmailMetrics,
    SuppressionSampler,
)
from shoptrail.notifier.adapters.smtp import SmtpMailer
from shoptrail.notifier.adapters.tables import event_outbox
from shoptrail.notifier.adapters.templates import TemplateComposer, template_environment
from shoptrail.notifier.adapters.uow import PostgresUnitOfWork
from shoptrail.notifier.config import Settings
from shoptrail.notifier.domain.tokens import UnsubscribeTokens
from shoptrail.notifier.service_layer.alerting import Alerting
from shoptrail.notifier.service_layer.emitting import SOURCE
from shoptrail.notifier.service_layer.ports import (
    AcceptedJournal,
    Clock,
    EmailQueue,
    Mailer,
    UnitOfWork,
)


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
    journal: AcceptedJournal
    """Message-IDs the mail server accepted, kept on local disk (`NOTIFIER_STATE_DIR`)."""
    alerting: Alerting
    """Alerts to the owner (service_layer/alerting.py)."""
    components: list[Health] = field(default_factory=list)
    """What `/readyz` and `/metrics` report on: consumers, relays, producers, workers."""
    kafka_answers: Callable[[], Awaitable[bool]] | None = None
    """A real round trip to Kafka, while consumers run."""

    def uow(self) -> UnitOfWork:
        """A fresh unit of work (one per use-case call)."""
        return PostgresUnitOfWork(self.engine, topic=self.settings.notifier_topic)

    def outbox_relay(self, producer: Producer) -> OutboxRelay:
        """The relay that moves this service's staged events to Kafka."""
        relay = OutboxRelay(engine=self.engine, producer=producer, table=event_outbox)
        self.components += [relay.health, producer.health]
        return relay

    async def database_answers(self) -> bool:
        """A real round trip to PostgreSQL."""
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        return True

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
    from shoptrail.notifier.entrypoints.alert_jobs import register_alert_tasks
    from shoptrail.notifier.entrypoints.jobs import register_tasks

    tokens = UnsubscribeTokens(settings.unsubscribe_secret.get_secret_value().encode())
    templates = template_environment()
    jobs = create_job_app(settings.database_url)
    engine = create_async_engine(
        settings.database_url,
        pool_pre_ping=True,
        hide_parameters=True,  # bound values are customer data: never in logs
    )
    clock = clock or SystemClock()
    mailer = mailer or SmtpMailer(
        host=settings.smtp_host,
        port=settings.smtp_port,
        security=settings.smtp_security,
        username=settings.smtp_username,
        password=settings.smtp_password,
        timeout=settings.smtp_timeout_s,
        validate_certs=settings.smtp_validate_certs,
    )
    notifier = Notifier(
        settings=settings,
        engine=engine,
        clock=clock,
        mailer=mailer,
        templates=templates,
        tokens=tokens,
        composer=TemplateComposer(
            templates, tokens=tokens, public_base_url=settings.public_base_url
        ),
        jobs=jobs,
        queue=ProcrastinateEmailQueue(jobs),
        journal=FileAcceptedJournal(settings.state_dir),
        alerting=build_alerting(settings, engine=engine, clock=clock, mailer=mailer),
    )
    register_tasks(notifier, periodic=periodic_tasks)
    register_alert_tasks(notifier, periodic=periodic_tasks)
    return notifier


def build_alerting(
    settings: Settings, *, engine: AsyncEngine, clock: Clock, mailer: Mailer
) -> Alerting:
    """Alerts to the owner: their store, activity's answers, the mailer, the links' base."""
    username, _, domain = settings.alert_sender.rpartition("@")
    return Alerting(
        store=AlertStore(engine, topic=settings.notifier_topic),
        activity=ActivityEntries(settings.activity_url, settings.activity_token),
        mailer=mailer,
        clock=clock,
        admin_url=settings.admin_url,
        sender=Address(display_name="Shoptrail alerts", username=username, domain=domain),
        unlogged_max_age=settings.alert_unlogged_max_age,
        webhook_timeout_s=settings.alert_webhook_timeout_s,
    )


def create_consumer_broker(notifier: Notifier, producer: Producer) -> KafkaBroker:
    """A Kafka broker with the notifier's subscribers; dead letters go through `producer`."""
    from shoptrail.notifier.entrypoints.alert_consumer import subscribe_alerts
    from shoptrail.notifier.entrypoints.alert_jobs import wake_dispatch
    from shoptrail.notifier.entrypoints.consumers import subscribe

    settings = notifier.settings
    failures = FailureHandling.for_consumer(
        producer,
        group=settings.consumer_group,
        fact_topic=settings.notifier_topic,
        source=SOURCE,
        rehearse=settings.rehearse_failures_for,
    )
    notifier.components.append(failures.health)
    broker = create_broker(settings.kafka, client_id="shoptrail-notifier")
    subscribe(broker, notifier, failures=failures)
    alerts_health = Health(f"consumer:{settings.alerts_consumer_group}")
    notifier.components.append(alerts_health)

    async def wake() -> None:
        await wake_dispatch(notifier.jobs)

    subscribe_alerts(
        broker,
        pattern=settings.alerts_topic_pattern,
        group_id=settings.alerts_consumer_group,
        alerting=notifier.alerting,
        wake_dispatch=wake,
        max_age=settings.alert_max_event_age,
        health=alerts_health,
    )
    return broker


@contextlib.asynccontextmanager
async def running_consumers(notifier: Notifier) -> AsyncIterator[None]:
    """Consume order and checkout events and relay the outbox, until the block ends."""
    async with Producer(notifier.settings.kafka, client_id="shoptrail-notifier") as producer:
        broker = create_consumer_broker(notifier, producer)
        async with notifier.jobs.open_async(), broker:
            await broker.start()
            relay = notifier.outbox_relay(producer)
            relaying = asyncio.create_task(relay.run(), name="outbox-relay")
            notifier.kafka_answers = producer.ping
            try:
                yield
            finally:
                relay.stop()
                await relaying


def create_app(
    settings: Settings, notifier: Notifier | None = None, *, run_consumers: bool = True
) -> FastAPI:
    """Build the notifier's HTTP app; with `run_consumers`, its lifespan also consumes Kafka."""
    from shoptrail.notifier.entrypoints.alert_settings_api import alert_settings_router
    from shoptrail.notifier.entrypoints.api import settings_router, unsubscribe_router

    service = notifier or build_notifier(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        conninfo = psycopg_conninfo(settings.database_url)
        try:
            async with open_job_queue(
                conninfo, stalled_after_s=settings.stalled_after_s
            ) as app.state.job_queue:
                if run_consumers:
                    async with running_consumers(service), sampling(samplers):
                        yield
                else:
                    yield
        finally:
            if notifier is None:
                await service.aclose()

    app = FastAPI(
        telemetry=http_telemetry(),
        title="Shoptrail notifier",
        description=shoptrail.notifier.__doc__ or "",
        version="0.1.0",
        lifespan=lifespan,
        responses=INPUT_RESPONSES,
    )
    app.add_middleware(StorableInput)
    guard_operations(app, environment=settings.environment, token=settings.service_token)
    serve_asyncapi(app)  # the bus's contract, beside the HTTP one (/openapi.json)
    app.state.notifier = service
    app.include_router(alert_settings_router(settings))
    app.include_router(settings_router(settings))
    app.include_router(unsubscribe_router())
    app.include_router(
        jobs_router(),
        dependencies=[Depends(service_token_guard(settings.service_token))],
        responses=AUTH_RESPONSES,
    )

    async def kafka() -> bool:
        ping = service.kafka_answers
        return ping is not None and await ping()

    checks = {"database": service.database_answers}
    if run_consumers:
        checks["kafka"] = kafka
    app.include_router(
        health_router("notifier", checks=checks, components=lambda: service.components)
    )
    registry = CollectorRegistry(auto_describe=True)
    register_health_metrics(registry, lambda: service.components)
    samplers: list[PeriodicSampler] = []
    if run_consumers:  # the consumers and the outbox relay run in this process
        topics = [settings.ingest_topic, settings.fulfilment_topic]
        samplers += [
            ConsumerLagSampler(settings.kafka, settings.consumer_group, topics=topics),
            OutboxSampler(lambda: service.engine, [event_outbox.name]),
            SuppressionSampler(service.engine),
        ]
    for sampler in samplers:
        registry.register(sampler)
    serve_metrics(app, registry)
    instrument_http(app, registry)

    return app


RETRY_STALLED_JOBS = "notifier.retry_stalled_jobs"


def watch_stalled_jobs(notifier: Notifier) -> None:
    """Every minute, put back in the queue the jobs of workers that died mid-job.

    Otherwise a `send_email` job whose worker was killed (or cut short while
    stopping) stays `doing` for good. Running it again is safe: the email's own
    claim (`pending` → `sending`) keeps a second run from sending it twice.
    """
    app, settings = notifier.jobs, notifier.settings

    @app.periodic(cron="* * * * *")
    @app.task(name=RETRY_STALLED_JOBS, queueing_lock=RETRY_STALLED_JOBS, pass_context=True)
    async def retry_stalled_jobs(context: procrastinate.JobContext, timestamp: int) -> None:
        await workers.retry_stalled_jobs(context.app, stalled_after_s=settings.stalled_after_s)


def job_connector(settings: Settings) -> procrastinate.PsycopgConnector:
    """A fresh connector, with its own pool, for one run of the job worker."""
    timeout = settings.worker_db_timeout_s
    return procrastinate.PsycopgConnector(
        conninfo=psycopg_conninfo(settings.database_url),
        min_size=1,
        max_size=4,
        timeout=timeout,  # waiting for a pooled connection
        kwargs={"connect_timeout": max(2, math.ceil(timeout))},  # libpq's minimum is 2 s
    )


def worker_health_door(notifier: Notifier) -> tuple[FastAPI, list[PeriodicSampler]]:
    """The worker's `/healthz`, `/readyz` and `/metrics`, and the samplers to run meanwhile.

    Its metrics: the components' health, emails by outcome (the notifier's
    mailer is wrapped to count them) and the job queue (its tasks use
    procrastinate's `default` queue, reported even when idle).
    """
    registry = CollectorRegistry(auto_describe=True)
    notifier.mailer = CountingMailer(notifier.mailer, EmailMetrics(registry))
    door = workers.worker_door(
        "notifier-worker",
        checks={"database": notifier.database_answers},
        components=lambda: notifier.components,
        registry=registry,
    )
    settings = notifier.settings
    guard_operations(door, environment=settings.environment, token=settings.service_token)
    queues = [procrastinate.jobs.DEFAULT_QUEUE]
    samplers: list[PeriodicSampler] = [JobQueueSampler(lambda: notifier.engine, queues=queues)]
    for sampler in samplers:
        registry.register(sampler)
    return door, samplers


async def run_worker(settings: Settings, *, concurrency: int = 4, port: int | None = None) -> None:
    """Run the job worker until cancelled; it restarts after any failure.

    Serves `/healthz`, `/readyz` and `/metrics` on `port` (default: `settings.worker_port`).
    """
    notifier = build_notifier(settings)
    door, samplers = worker_health_door(notifier)
    watch_stalled_jobs(notifier)
    health = Health("worker:notifier-worker")
    notifier.components.append(health)
    worker = workers.procrastinate_worker(
        notifier.jobs,
        connector=lambda: job_connector(settings),
        name="notifier-worker",
        concurrency=concurrency,
        update_heartbeat_interval=settings.worker_heartbeat_s,
        stalled_worker_timeout=settings.stalled_after_s,
        worker_middleware=[record_job_errors()],
    )
    door_port = settings.worker_port if port is None else port
    try:
        async with workers.serving(door, host=settings.host, port=door_port), sampling(samplers):
            await workers.supervise(worker, health=health)
    finally:
        await notifier.aclose()
