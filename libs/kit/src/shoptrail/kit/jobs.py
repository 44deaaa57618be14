"""Jobs an operator can see and steer: failed, stalled, waiting; retry one, cancel one.

Both job-running services (fulfilment, notifier) keep a procrastinate queue in
their own database; this module is the one place that reads and steers it, for
their CLIs (`jobs_cli`) and HTTP APIs (`jobs_api`).

States, as an operator sees them:

* **failed**: procrastinate gave up on the job (its retries, if any, are spent).
* **stalled**: `doing`, but its worker has sent no heartbeat for longer than the
  service's `STALLED_AFTER_S` (or is gone): procrastinate's own definition
  (`JobManager.get_stalled_jobs`), with the same threshold the services'
  stalled-job recovery uses.
* **waiting**: `todo`, due now or scheduled (a retry after a backoff, a delayed job).
* **running**: `doing`, with a live worker.
* finished: **succeeded**, **cancelled**, **aborted** (shown for one job, never listed).

procrastinate does not keep why a job failed, so `record_job_errors()` (a worker
middleware) keeps each job's last error in `shoptrail_job_errors`, one row per
job, as `shoptrail.events.failures.describe` words it: no SQL, payloads or
email addresses.

Writes go through procrastinate's own operations (`procrastinate_retry_job_v2`
via the query procrastinate itself uses, `JobManager.cancel_job_by_id_async`),
each inside one transaction that first locks the job's row and checks its
state: a retry clicked twice, or racing the stalled-job recovery, finds the job
already waiting and is refused; a running job is never put back in the queue.

procrastinate is imported where it is used: only the services that run workers
depend on it.
"""

from __future__ import annotations

import builtins
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shoptrail.events.failures import describe

if TYPE_CHECKING:
    from procrastinate import JobContext, PsycopgConnector
    from psycopg import AsyncConnection
    from psycopg.rows import DictRow

log = logging.getLogger(__name__)


class JobState(StrEnum):
    FAILED = "failed"
    STALLED = "stalled"
    WAITING = "waiting"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    CANCELLED = "cancelled"
    ABORTED = "aborted"


StateFilter = Literal["failed", "stalled", "waiting", "running", "all"]
STATE_FILTERS: tuple[StateFilter, ...] = ("failed", "stalled", "waiting", "running", "all")
_STATUSES: dict[StateFilter, list[str]] = {"failed": ["failed"], "waiting": ["todo"]}
LIST_LIMIT = 100
"""How many jobs a listing shows at most (newest first)."""


class JobInfo(BaseModel):
    """One job, as an operator needs to see it."""

    model_config = ConfigDict(frozen=True)

    id: int
    task: str = Field(description="The task's name, e.g. `submit_order`.")
    queue: str
    state: JobState
    attempts: int = Field(description="Attempts made so far (a retry counts one more).")
    args: dict[str, Any] = Field(description="The task's arguments (ids, never customer data).")
    scheduled_at: datetime | None = Field(
        description="A waiting job runs no sooner than this (none: as soon as a worker is free)."
    )
    started_at: datetime | None = Field(description="When its last attempt started.")
    failed_at: datetime | None = Field(description="When it last failed for good.")
    last_error: str | None = Field(description="Its last attempt's error, in one safe line.")
    last_error_at: datetime | None
    abort_requested: bool = False


class JobNotFoundError(LookupError):
    """No job with this id (it never existed, or finished jobs were pruned)."""

    def __init__(self, job_id: int) -> None:
        super().__init__(f"no job {job_id}")
        self.job_id = job_id


class JobStateError(Exception):
    """The job is not in a state this action applies to; the message says which it is in."""

    def __init__(self, job: JobInfo, reason: str) -> None:
        super().__init__(reason)
        self.job = job


ERRORS_TABLE = "shoptrail_job_errors"
ERRORS_SCHEMA = """
CREATE TABLE IF NOT EXISTS shoptrail_job_errors (
    job_id bigint PRIMARY KEY REFERENCES procrastinate_jobs (id) ON DELETE CASCADE,
    attempt integer NOT NULL,
    error text NOT NULL,
    at timestamptz NOT NULL DEFAULT now()
)
"""
"""Each job's last error (procrastinate keeps none); applied after procrastinate's schema."""

_NOTE_ERROR = """
INSERT INTO shoptrail_job_errors (job_id, attempt, error)
VALUES (%(job_id)s, %(attempt)s, %(error)s)
ON CONFLICT (job_id) DO UPDATE SET attempt = EXCLUDED.attempt, error = EXCLUDED.error, at = now()
"""

_SELECT = """
SELECT j.id, j.task_name, j.queue_name, j.status::text AS status, j.attempts, j.args,
       j.scheduled_at, j.abort_requested,
       (j.status = 'doing' AND (j.worker_id IS NULL OR w.id IS NULL
            OR w.last_heartbeat < now() - make_interval(secs => %(stalled_after_s)s)))
           AS stalled,
       ev.started_at, ev.failed_at, n.error AS last_error, n.at AS last_error_at
  FROM procrastinate_jobs j
  LEFT JOIN procrastinate_workers w ON w.id = j.worker_id
  LEFT JOIN shoptrail_job_errors n ON n.job_id = j.id
  LEFT JOIN LATERAL (
      SELECT max(e.at) FILTER (WHERE e.type = 'started') AS started_at,
             max(e.at) FILTER (WHERE e.type = 'failed') AS failed_at
        FROM procrastinate_events e
       WHERE e.job_id = j.id
  ) ev ON true
 WHERE j.status = ANY(%(statuses)s::procrastinate_job_status[])
   AND (%(id)s::bigint IS NULL OR j.id = %(id)s)
 ORDER BY j.id DESC
 LIMIT %(limit)s
"""
_LOCK = "SELECT id FROM procrastinate_jobs WHERE id = %(id)s FOR UPDATE"
_ANY_STATUS = ["todo", "doing", "succeeded", "failed", "cancelled", "aborted"]


def _state(row: DictRow) -> JobState:
    status = str(row["status"])
    if status == "doing":
        return JobState.STALLED if row["stalled"] else JobState.RUNNING
    if status == "todo":
        return JobState.WAITING
    return JobState(status)


def _info(row: DictRow, state: JobState) -> JobInfo:
    return JobInfo(
        id=row["id"],
        task=row["task_name"],
        queue=row["queue_name"],
        state=state,
        attempts=row["attempts"],
        args=dict(row["args"] or {}),
        scheduled_at=row["scheduled_at"],
        started_at=row["started_at"],
        failed_at=row["failed_at"],
        last_error=row["last_error"],
        last_error_at=row["last_error_at"],
        abort_requested=row["abort_requested"],
    )


class JobQueue:
    """A service's procrastinate queue, as the operator steers it."""

    def __init__(self, connector: PsycopgConnector, *, stalled_after_s: float) -> None:
        self._connector = connector
        self.stalled_after_s = stalled_after_s

    async def list(self, state: StateFilter = "all", *, limit: int = LIST_LIMIT) -> list[JobInfo]:
        """Jobs in `state`, newest first, at most `limit` of each state.

        "all" is failed, stalled, running, then waiting: a burst of waiting
        jobs never hides the failed ones.
        """
        if state == "all":
            doing = await self._select(["doing"], limit=None)
            return [
                *await self._select(["failed"], limit=limit),
                *[job for job in doing if job.state == JobState.STALLED][:limit],
                *[job for job in doing if job.state == JobState.RUNNING][:limit],
                *await self._select(["todo"], limit=limit),
            ]
        if state in ("stalled", "running"):
            doing = await self._select(["doing"], limit=None)
            return [job for job in doing if job.state == state][:limit]
        return await self._select(_STATUSES[state], limit=limit)

    async def _select(
        self, statuses: builtins.list[str], *, limit: int | None
    ) -> builtins.list[JobInfo]:
        rows = await self._connector.execute_query_all_async(
            query=_SELECT,
            statuses=statuses,
            id=None,
            limit=limit,
            stalled_after_s=self.stalled_after_s,
        )
        return [_info(row, _state(row)) for row in rows]

    async def get(self, job_id: int) -> JobInfo:
        """One job, in whatever state; `JobNotFoundError` if there is none."""
        return await self._one(job_id, connection=None)

    async def retry(self, job_id: int) -> JobInfo:
        """Put a failed or stalled job back in the queue, to run as soon as a worker is free.

        Refused (`JobStateError`) for a job already waiting (a second click), a
        running one, or one whose twin with the same queueing lock already waits.
        """
        from procrastinate import sql
        from procrastinate.exceptions import UniqueViolation

        async with self._locked(job_id) as (conn, job):
            if job.state not in (JobState.FAILED, JobState.STALLED):
                raise JobStateError(
                    job, f"job {job_id} is {job.state}: only a failed or stalled job can be retried"
                )
            try:
                await self._connector.execute_query_one_async_with_connection(
                    conn,
                    query=sql.queries["retry_job"],
                    job_id=job_id,
                    retry_at=datetime.now(UTC),
                    new_priority=None,
                    new_queue_name=None,
                    new_lock=None,
                )
            except UniqueViolation as exc:
                raise JobStateError(
                    job,
                    f"job {job_id} was not retried: another job doing the same work is "
                    f"already waiting (queueing lock {exc.queueing_lock})",
                ) from exc
        log.info("operator retried a job", extra={"job_id": job_id, "task": job.task})
        return await self.get(job_id)

    async def cancel(self, job_id: int, *, abort: bool = False) -> JobInfo:
        """Cancel a waiting job; with `abort`, also ask a running one to stop.

        An async task is stopped by its worker at its next await (procrastinate
        cancels it); the job then ends `aborted`.
        """
        from procrastinate.manager import JobManager

        async with self._locked(job_id) as (conn, job):
            running = job.state in (JobState.RUNNING, JobState.STALLED)
            if job.state != JobState.WAITING and not (abort and running):
                allowed = "a waiting or running" if abort else "a waiting"
                raise JobStateError(
                    job,
                    f"job {job_id} is {job.state}: only {allowed} job "
                    "can be cancelled"
                    + ("" if abort or not running else " (use abort to stop a running one)"),
                )
            await JobManager(self._connector).cancel_job_by_id_async(
                job_id, abort=abort, connection=conn
            )
        log.info("operator cancelled a job", extra={"job_id": job_id, "abort": abort})
        return await self.get(job_id)

    @contextlib.asynccontextmanager
    async def _locked(self, job_id: int) -> AsyncIterator[tuple[AsyncConnection[Any], JobInfo]]:
        async with self._connector.pool.connection() as conn, conn.transaction():
            await self._connector.execute_query_all_async_with_connection(
                conn, query=_LOCK, id=job_id
            )
            yield conn, await self._one(job_id, connection=conn)

    async def _one(self, job_id: int, *, connection: AsyncConnection[Any] | None) -> JobInfo:
        params = {
            "statuses": _ANY_STATUS,
            "id": job_id,
            "limit": 1,
            "stalled_after_s": self.stalled_after_s,
        }
        if connection is None:
            rows = await self._connector.execute_query_all_async(query=_SELECT, **params)
        else:
            rows = await self._connector.execute_query_all_async_with_connection(
                connection, query=_SELECT, **params
            )
        if not rows:
            raise JobNotFoundError(job_id)
        return _info(rows[0], _state(rows[0]))


@contextlib.asynccontextmanager
async def open_job_queue(conninfo: str, *, stalled_after_s: float) -> AsyncIterator[JobQueue]:
    """A `JobQueue` on its own connections, opened one per use (an operator's pace)."""
    from procrastinate import PsycopgConnector
    from psycopg_pool import AsyncNullConnectionPool

    connector = PsycopgConnector(
        conninfo=conninfo,
        pool_factory=AsyncNullConnectionPool,
        timeout=10,
        kwargs={"connect_timeout": 5},
    )
    await connector.open_async()
    try:
        yield JobQueue(connector, stalled_after_s=stalled_after_s)
    finally:
        await connector.close_async()


async def apply_errors_schema(connector: PsycopgConnector) -> None:
    """Create `shoptrail_job_errors` where missing (after procrastinate's own schema)."""
    await connector.execute_query_async(query=ERRORS_SCHEMA)


Middleware = Callable[[Callable[[], Awaitable[Any]], "JobContext", Any], Awaitable[Any]]


def record_job_errors() -> Middleware:
    """A worker middleware: each failed attempt's error, described safely, becomes the job's
    last error. Failing to keep it is logged; the job's own outcome never changes."""

    async def middleware(
        call_next: Callable[[], Awaitable[Any]], context: JobContext, worker: Any
    ) -> Any:
        try:
            return await call_next()
        except Exception as error:
            await _note(context, error)
            raise

    return middleware


async def _note(context: JobContext, error: Exception) -> None:
    job = context.job
    try:
        await context.app.connector.execute_query_async(
            query=_NOTE_ERROR, job_id=job.id, attempt=job.attempts + 1, error=describe(error)
        )
    except Exception as failure:  # the job's failure matters; a missing note does not
        log.warning(
            "could not keep a job's last error",
            extra={"job_id": job.id, "task": job.task_name, "reason": describe(failure)},
        )
