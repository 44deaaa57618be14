"""`/api/jobs`: a service's job queue over HTTP, for the operator and the admin (see `jobs`).

Open a `JobQueue` in the app's lifespan as `app.state.job_queue` and include
the routes behind the service token, as other operator routes are:
`app.include_router(jobs_router(), dependencies=[Depends(guard)],
responses=AUTH_RESPONSES)`.
"""

# No `from __future__ import annotations`: FastAPI reads the routes' annotations, and the
# queue's dependency is local to `jobs_router`.
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, status
from pydantic import BaseModel

from shoptrail.kit.jobs import (
    LIST_LIMIT,
    JobInfo,
    JobNotFoundError,
    JobQueue,
    JobStateError,
    StateFilter,
)

T = TypeVar("T")
JobId = Annotated[int, Path(ge=1, le=2**63 - 1, description="The job's id.")]


class JobProblem(BaseModel):
    """Why the action was not done."""

    detail: str


NOT_FOUND: dict[int | str, dict[str, Any]] = {
    status.HTTP_404_NOT_FOUND: {"model": JobProblem, "description": "No job with this id."},
}
WRONG_STATE: dict[int | str, dict[str, Any]] = {
    status.HTTP_409_CONFLICT: {
        "model": JobProblem,
        "description": "The job is not in a state this action applies to (the detail says "
        "which it is in), or a twin doing the same work already waits.",
    },
}
UNAVAILABLE: dict[int | str, dict[str, Any]] = {
    status.HTTP_503_SERVICE_UNAVAILABLE: {
        "model": JobProblem,
        "description": "The job queue's database is not answering.",
    },
}


def state_job_queue(request: Request) -> JobQueue:
    """The `JobQueue` the app's lifespan opened as `app.state.job_queue` (503 until then)."""
    queue: JobQueue | None = getattr(request.app.state, "job_queue", None)
    if queue is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "the job queue is not open")
    return queue


def jobs_router(queue_of: Callable[[Request], JobQueue] = state_job_queue) -> APIRouter:
    """The routes; `queue_of(request)` is the service's open `JobQueue`."""
    router = APIRouter(prefix="/api/jobs", tags=["jobs"], responses=UNAVAILABLE)
    queue_dependency = Depends(queue_of)

    async def steering(action: Awaitable[T]) -> T:
        from procrastinate.exceptions import ConnectorException
        from psycopg import Error as DatabaseError

        try:
            return await action
        except JobNotFoundError as exc:
            raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
        except JobStateError as exc:
            raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
        except (ConnectorException, DatabaseError) as exc:
            reason = "the job queue's database is not answering"
            raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, reason) from exc

    @router.get("")
    async def list_jobs(
        queue: Annotated[JobQueue, queue_dependency],
        state: Annotated[
            StateFilter,
            Query(description="failed, stalled, waiting, running, or all four."),
        ] = "all",
        limit: Annotated[
            int, Query(ge=1, le=500, description="At most this many of each state.")
        ] = LIST_LIMIT,
    ) -> list[JobInfo]:
        """Jobs needing an eye (failed, stalled), running, or still to come (waiting).

        Newest first within each state; "all" lists failed, stalled, running, then waiting.
        """
        return await steering(queue.list(state, limit=limit))

    @router.post("/{job_id}/retry", responses=NOT_FOUND | WRONG_STATE)
    async def retry_job(job_id: JobId, queue: Annotated[JobQueue, queue_dependency]) -> JobInfo:
        """Put a failed or stalled job back in the queue once; it runs when a worker is free.

        A job already waiting (a second click) or running is refused with 409.
        """
        return await steering(queue.retry(job_id))

    @router.post("/{job_id}/cancel", responses=NOT_FOUND | WRONG_STATE)
    async def cancel_job(
        job_id: JobId,
        queue: Annotated[JobQueue, queue_dependency],
        abort: Annotated[
            bool,
            Query(description="Also ask a running job to stop (its worker cancels it)."),
        ] = False,
    ) -> JobInfo:
        """Cancel a waiting job (with `abort`, ask a running one to stop)."""
        return await steering(queue.cancel(job_id, abort=abort))

    return router
