"""The background jobs: submission, product sync, status poll, stalled-job recovery.

Thin: each task calls one use case. Tasks are registered on an app built at
run time (`build_job_app`), never at import time.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from procrastinate import App, JobContext, PsycopgConnector

from shoptrail.events.tracing import job_span
from shoptrail.fulfilment.adapters.job_queue import QUEUE, SUBMIT_ORDER, SYNC_PRODUCTS
from shoptrail.fulfilment.adapters.jobs import Backoff
from shoptrail.fulfilment.config import Settings
from shoptrail.fulfilment.domain.model import ProviderName
from shoptrail.fulfilment.service_layer import actions, submission, syncing, tracking
from shoptrail.fulfilment.service_layer.ports import AlreadyQueuedError, Providers, UnitOfWork
from shoptrail.kit import workers

log = logging.getLogger(__name__)

POLL_STATUS = "poll_order_status"
SYNC_ALL = "sync_all_products"
RETRY_STALLED = "retry_stalled_jobs"


def build_job_app(
    settings: Settings, *, uow: Callable[[], UnitOfWork], providers: Providers
) -> App:
    """The procrastinate app with fulfilment's tasks; open it before running a worker."""
    app = App(connector=PsycopgConnector(conninfo=settings.psycopg_conninfo))
    backoff = Backoff(
        base_s=settings.retry_backoff_s,
        max_s=settings.retry_backoff_max_s,
        operator_s=settings.operator_retry_s,
    )

    @app.task(name=SUBMIT_ORDER, queue=QUEUE, retry=backoff, pass_context=True)
    async def submit_order(
        context: JobContext, order_id: str, traceparent: str | None = None
    ) -> None:
        assert context.job.id is not None
        with job_span(SUBMIT_ORDER, traceparent, job_id=context.job.id):
            await submission.submit_order(
                order_id=order_id, job_id=context.job.id, uow=uow(), providers=providers
            )

    # Retried only while it waits for the operator; any other failure ends it (`sync.failed`).
    @app.task(name=SYNC_PRODUCTS, queue=QUEUE, retry=backoff, pass_context=True)
    async def sync_products(
        context: JobContext, provider: ProviderName, traceparent: str | None = None
    ) -> None:
        with job_span(SYNC_PRODUCTS, traceparent, job_id=context.job.id):
            await syncing.sync_products(
                sync_id=f"sync_{context.job.id}",
                provider=providers[provider],
                uow=uow(),
                resumed=context.job.attempts > 0,
            )

    @app.periodic(cron=settings.poll_cron)
    @app.task(name=POLL_STATUS, queue=QUEUE, queueing_lock=POLL_STATUS, lock=POLL_STATUS)
    async def poll_order_status(timestamp: int) -> None:
        with job_span(POLL_STATUS, None):  # a trace of its own: what it finds starts a story
            changed = await tracking.poll_orders_at_provider(uow=uow(), providers=providers)
        log.info("polled orders at their providers", extra={"changed": changed})

    @app.periodic(cron=settings.sync_cron)
    @app.task(name=SYNC_ALL, queue=QUEUE, queueing_lock=SYNC_ALL)
    async def sync_all_products(timestamp: int) -> None:
        for provider in providers:
            try:
                await actions.request_sync(provider=provider, uow=uow())
            except AlreadyQueuedError:
                log.info("a product sync is already queued", extra={"provider": provider})

    @app.periodic(cron=settings.stalled_check_cron)
    @app.task(name=RETRY_STALLED, queue=QUEUE, queueing_lock=RETRY_STALLED, pass_context=True)
    async def retry_stalled_jobs(context: JobContext, timestamp: int) -> None:
        # A job whose worker stopped sending heartbeats (killed, host lost) stays "doing"
        # forever unless someone puts it back in the queue (one whose twin already waits
        # is failed instead, so the check does not fail on it every minute).
        await workers.retry_stalled_jobs(context.app, stalled_after_s=settings.stalled_after_s)

    return app
