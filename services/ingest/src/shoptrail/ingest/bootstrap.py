"""The one place the ingest application is assembled."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

import shoptrail.ingest
from shoptrail.events.producer import Producer
from shoptrail.events.publisher import EventPublisher
from shoptrail.ingest.adapters.kafka import KafkaEventSink
from shoptrail.ingest.adapters.stripe_api import StripeSdkApi
from shoptrail.ingest.config import Settings
from shoptrail.ingest.entrypoints import operations, webhooks
from shoptrail.ingest.entrypoints.admission import Admission, AdmissionMiddleware, Door
from shoptrail.ingest.runtime import Runtime
from shoptrail.kit.asyncapi import serve_asyncapi
from shoptrail.kit.auth import guard_operations
from shoptrail.kit.health import register_health_metrics
from shoptrail.kit.inputs import INPUT_RESPONSES, StorableInput
from shoptrail.kit.metrics import instrument_http
from shoptrail.kit.tracing import http_telemetry

log = logging.getLogger(__name__)

SHUTDOWN_GRACE_SECONDS = 10.0


def create_producer(settings: Settings) -> Producer:
    """A durable producer (acks=all, idempotent) that heals itself, for ingest's topic."""
    return Producer(settings.kafka, client_id="shoptrail-ingest")


def create_stripe_api(settings: Settings) -> StripeSdkApi:
    """The Stripe API client ingest uses (Stripe, or a stand-in at `INGEST_STRIPE_API_BASE`)."""
    return StripeSdkApi(
        settings.stripe_api_key.get_secret_value(),
        api_base=settings.stripe_api_base,
        timeout=settings.stripe_api_timeout_seconds,
    )


@asynccontextmanager
async def connected(
    producer: Producer, sink: KafkaEventSink, stripe: StripeSdkApi
) -> AsyncIterator[None]:
    """Connect to Kafka for the duration; on the way out, give sends in flight a grace period.

    Kafka away at start is not fatal: webhooks are answered 503 (the senders
    retry) until it answers.
    """
    await producer.start()
    try:
        yield
    finally:
        if unacknowledged := await sink.drain(SHUTDOWN_GRACE_SECONDS):
            # Their senders were answered 503 and will retry; reconcile covers Stripe too.
            log.error("stopping with unacknowledged events", extra={"count": unacknowledged})
        try:
            async with asyncio.timeout(SHUTDOWN_GRACE_SECONDS):
                await producer.stop()
        except TimeoutError:
            log.error("Kafka producer did not close in time")
        await stripe.close()


def create_app(settings: Settings, *, door: Door | None = None) -> FastAPI:
    """Build the ingest app from its settings; nothing is created at import time.

    Clients are created here and connected in the app's lifespan, so an app
    that is never started never touches Kafka. `door` is the server's listening
    socket, when the caller made it (`serve`): admission watches its queue.
    """
    producer = create_producer(settings)
    sink = KafkaEventSink(
        EventPublisher(producer, settings.topic), timeout=settings.publish_timeout_seconds
    )
    stripe = create_stripe_api(settings)

    async def kafka_ready() -> bool:
        return await producer.ping(timeout=2.0)

    runtime = Runtime(settings=settings, sink=sink, stripe=stripe, kafka_ready=kafka_ready)
    admission = Admission(
        max_in_flight=settings.max_in_flight,
        max_waiting=settings.max_waiting,
        door=door,
        deadline=settings.deadline_seconds,
        max_loop_lag=settings.max_loop_lag_seconds,
        retry_after=settings.overload_retry_after_seconds,
        metrics=runtime.metrics,
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        async with connected(producer, sink, stripe), admission.sampling():
            yield

    app = FastAPI(
        telemetry=http_telemetry(),
        title="Shoptrail ingest",
        description=shoptrail.ingest.__doc__ or "",
        version="0.1.0",
        lifespan=lifespan,
        responses=INPUT_RESPONSES,
    )
    # Webhook bodies are cleaned, not refused (see domain/cleaning.py).
    app.add_middleware(StorableInput, check_bodies=False)
    guard_operations(app, environment=settings.environment, token=settings.service_token)
    serve_asyncapi(app)  # the bus's contract, beside the HTTP one (/openapi.json)
    # Inside admission: webhooks shed at the door are counted by `ingest_webhooks_shed`.
    instrument_http(app, runtime.metrics.registry)
    register_health_metrics(runtime.metrics.registry, lambda: [producer.health])
    # Outermost: a webhook is admitted or refused before anything else reads it.
    app.add_middleware(AdmissionMiddleware, admission=admission)
    app.state.settings = settings
    app.state.runtime = runtime
    app.include_router(webhooks.router)
    app.include_router(operations.router)
    return app
