"""Enqueueing procrastinate jobs inside our own SQLAlchemy transaction.

procrastinate's worker runs jobs through its psycopg connector, but a job is
only a row in `procrastinate_jobs`. We insert it with procrastinate's own SQL
function (`procrastinate_defer_jobs_v1`, what `defer_async` calls) on *our*
connection, so the order row, the outbox events and the job commit or roll back
together: no stored order without its submission job, no job for an order
that rolled back. The unique `queueing_lock` index (one *waiting* job per lock)
is caught in a savepoint and becomes `AlreadyQueuedError`.

Why not procrastinate's public API: `JobManager.defer_job_async(job,
connection=…)` takes a connection of *its* connector's driver (psycopg), and
procrastinate 3 has no connector for an async SQLAlchemy (asyncpg) session, so
it cannot join this transaction. What this relies on in procrastinate 3.10,
pinned by tests/integration/test_operator_jobs.py::TestEnqueueContract:

* `procrastinate_defer_jobs_v1(jobs procrastinate_job_to_defer_v1[]) -> bigint[]`;
* the composite type `procrastinate_job_to_defer_v1(queue_name, task_name,
  priority, lock, queueing_lock, args jsonb, scheduled_at)`, built positionally;
* the unique index `procrastinate_jobs_queueing_lock_idx_v1` (matched by prefix);
* `procrastinate_jobs(queueing_lock, status)` for the active-job lookup.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from shoptrail.events.tracing import job_args
from shoptrail.fulfilment.domain.model import ProviderName
from shoptrail.fulfilment.service_layer.ports import AlreadyQueuedError, JobQueue

QUEUE = "fulfilment"
SUBMIT_ORDER = "submit_order"
SYNC_PRODUCTS = "sync_products"
QUEUEING_LOCK_INDEX = "procrastinate_jobs_queueing_lock_idx"

_DEFER = text(
    "SELECT unnest(procrastinate_defer_jobs_v1(ARRAY[ROW("
    ":queue, :task, 0, :lock, :queueing_lock, CAST(:args AS jsonb), NULL"
    ")::procrastinate_job_to_defer_v1]))"
)
_ACTIVE = text(
    "SELECT id FROM procrastinate_jobs WHERE queueing_lock = :queueing_lock "
    "AND status IN ('todo', 'doing') ORDER BY id LIMIT 1"
)


def submission_lock(order_id: str) -> str:
    """One submission job at a time per order, and one waiting."""
    return f"{SUBMIT_ORDER}:{order_id}"


def sync_lock(provider: ProviderName) -> str:
    """One sync at a time per provider, and one waiting."""
    return f"{SYNC_PRODUCTS}:{provider}"


class SqlJobQueue(JobQueue):
    """procrastinate jobs written in the unit of work's transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def enqueue_submission(self, order_id: str) -> int:
        lock = submission_lock(order_id)
        return await self._defer(SUBMIT_ORDER, lock, job_args(order_id=order_id))

    async def active_submission(self, order_id: str) -> int | None:
        return await self._active(submission_lock(order_id))

    async def enqueue_sync(self, provider: ProviderName) -> int:
        lock = sync_lock(provider)
        # Serialise "is one running?" and the insert between concurrent requests.
        await self._session.execute(
            text("SELECT pg_advisory_xact_lock(hashtext(:lock))"), {"lock": lock}
        )
        if (active := await self._active(lock)) is not None:
            raise AlreadyQueuedError(active)
        return await self._defer(SYNC_PRODUCTS, lock, job_args(provider=provider))

    async def _defer(self, task: str, lock: str, args: dict[str, Any]) -> int:
        params = {
            "queue": QUEUE,
            "task": task,
            "lock": lock,
            "queueing_lock": lock,
            "args": json.dumps(args),
        }
        try:
            async with self._session.begin_nested():
                job_id = await self._session.scalar(_DEFER, params)
        except IntegrityError as exc:
            if QUEUEING_LOCK_INDEX not in str(exc.orig):
                raise
            raise AlreadyQueuedError(await self._active(lock)) from exc
        assert job_id is not None
        return int(job_id)

    async def _active(self, queueing_lock: str) -> int | None:
        job_id = await self._session.scalar(_ACTIVE, {"queueing_lock": queueing_lock})
        return None if job_id is None else int(job_id)
