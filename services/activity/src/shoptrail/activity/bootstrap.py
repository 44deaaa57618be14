"""The one place the activity application is assembled."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import create_async_engine

import shoptrail.activity
from shoptrail.activity.adapters.changes import ChangeLog
from shoptrail.activity.adapters.details import EntryDetails
from shoptrail.activity.adapters.group_reads import GroupReads
from shoptrail.activity.adapters.kafka import subscribe_log_consumer
from shoptrail.activity.adapters.migrate import migrate
from shoptrail.activity.adapters.queries import LogQueries
from shoptrail.activity.adapters.resolutions import Resolutions
from shoptrail.activity.adapters.sessions import SessionStore
from shoptrail.activity.adapters.store import PostgresLogStore
from shoptrail.activity.config import Settings
from shoptrail.activity.entrypoints import (
    alerts_api,
    details_api,
    export_api,
    groups_api,
    notes_api,
    orders_api,
    ws,
)
from shoptrail.activity.entrypoints.api import router
from shoptrail.activity.entrypoints.scheduler import prune_nightly
from shoptrail.activity.metrics import Metrics
from shoptrail.activity.realtime.hub import Hub
from shoptrail.activity.realtime.sessions import SessionWatch
from shoptrail.events.health import Health
from shoptrail.events.producer import Producer
from shoptrail.events.publisher import create_broker
from shoptrail.kit.asyncapi import serve_asyncapi
from shoptrail.kit.auth import AUTH_RESPONSES, guard_operations, service_token_guard
from shoptrail.kit.health import health_router, register_health_metrics
from shoptrail.kit.inputs import INPUT_RESPONSES, StorableInput
from shoptrail.kit.lag import ConsumerLagSampler
from shoptrail.kit.metrics import instrument_http, serve_metrics
from shoptrail.kit.sampling import PeriodicSampler, sampling
from shoptrail.kit.tracing import http_telemetry


def create_app(settings: Settings) -> FastAPI:
    """Build the activity app from its settings; nothing is created at import time."""
    engine = create_async_engine(
        settings.database_url,
        pool_size=10,
        max_overflow=10,
        pool_pre_ping=True,  # connections from before a database restart are replaced
        hide_parameters=True,  # bound values are customer data: never in logs
    )
    metrics = Metrics()
    broker = create_broker(
        settings.kafka,
        client_id="shoptrail-activity",
        metadata_max_age_ms=settings.metadata_max_age_ms,
    )
    producer = Producer(settings.kafka, client_id="shoptrail-activity-dead-letters")
    # Connects on the first note: the API serves without Kafka, and a note then gets a 503.
    notes_producer = Producer(settings.kafka, client_id="shoptrail-activity-notes")
    dsn = make_url(settings.database_url).set(drivername="postgresql")
    hub = Hub(
        ChangeLog(engine),
        dsn.render_as_string(hide_password=False),
        catch_up_limit=settings.ws_catch_up_limit,
        frame_interval=settings.ws_frame_ms / 1000,
    )
    components: list[Health] = []
    samplers: list[PeriodicSampler] = []
    if settings.consume:
        samplers.append(ConsumerLagSampler(settings.kafka, settings.group_id))
        # The hub numbers this replica's changes as soon as they commit.
        store = PostgresLogStore(engine, lanes=settings.write_lanes, after_commit=hub.kick)
        consumer_health = Health(f"consumer:{settings.group_id}")
        components += [consumer_health, producer.health]
        subscribe_log_consumer(
            broker,
            settings,
            store=store,
            metrics=metrics,
            producer=producer,
            health=consumer_health,
        )

    sessions = SessionStore(engine)
    session_watch = SessionWatch(sessions, max_per_session=settings.ws_max_sockets_per_session)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.migrate_on_start:
            await migrate(settings.database_url)
        await hub.start()
        await session_watch.start()
        if settings.consume:
            await producer.start()
            await broker.start()
        pruner = asyncio.create_task(
            prune_nightly(
                engine, hour_utc=settings.prune_hour_utc, retention_days=settings.retention_days
            )
        )
        try:
            async with sampling(samplers):
                yield
        finally:
            pruner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pruner
            await broker.stop()
            await producer.stop()
            await notes_producer.stop()
            await session_watch.stop()
            await hub.stop()
            await engine.dispose()

    app = FastAPI(
        telemetry=http_telemetry(),
        title="Shoptrail activity",
        description=shoptrail.activity.__doc__ or "",
        version="0.1.0",
        lifespan=lifespan,
        responses=INPUT_RESPONSES,
    )
    app.add_middleware(StorableInput)
    guard_operations(app, environment=settings.environment, token=settings.service_token)
    serve_asyncapi(app)  # the bus's contract, beside the HTTP one (/openapi.json)
    app.state.settings = settings
    app.state.metrics = metrics
    app.state.queries = LogQueries(engine)
    app.state.resolutions = Resolutions(engine, after_commit=hub.kick)
    app.state.groups = GroupReads(engine, after_commit=hub.kick)
    app.state.engine = engine
    guard = [Depends(service_token_guard(settings.service_token))]
    app.include_router(router, dependencies=guard, responses=AUTH_RESPONSES)
    app.state.entry_details = EntryDetails(engine)
    app.state.notes = notes_api.NotesChannel(
        notes_producer, settings.notes_topic, settings.notes_publish_timeout_s
    )
    for extra in (details_api.router, notes_api.router):
        app.include_router(extra, dependencies=guard, responses=AUTH_RESPONSES)
    app.include_router(groups_api.router, dependencies=guard, responses=AUTH_RESPONSES)
    app.include_router(orders_api.router, dependencies=guard, responses=AUTH_RESPONSES)
    app.include_router(export_api.router, dependencies=guard, responses=AUTH_RESPONSES)
    app.include_router(ws.tokens, dependencies=guard, responses=AUTH_RESPONSES)
    app.include_router(alerts_api.router, dependencies=guard, responses=AUTH_RESPONSES)
    app.include_router(ws.router)
    app.state.hub = hub
    app.state.sessions = sessions
    app.state.session_watch = session_watch

    async def database() -> bool:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        return True

    async def kafka() -> bool:
        return await broker.ping(timeout=2.0)

    checks = {"database": database, **({"kafka": kafka} if settings.consume else {})}
    app.include_router(health_router("activity", checks=checks, components=lambda: components))
    register_health_metrics(metrics.registry, lambda: components)
    for sampler in samplers:
        metrics.registry.register(sampler)
    serve_metrics(app, metrics.registry)
    instrument_http(app, metrics.registry)

    return app
