"""procrastinate plumbing: the retry backoff and exhausted-job telemetry for every task."""

from __future__ import annotations

import datetime as dt
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from procrastinate import BaseRetryStrategy, JobContext, RetryDecision
from procrastinate.jobs import Job

from shoptrail.events.failures import describe
from shoptrail.events.system import JobExhausted
from shoptrail.fulfilment.service_layer.ports import UnitOfWork
from shoptrail.fulfilment.service_layer.submission import (
    ReportedFailureError,
    RetryLaterError,
    WaitingForOperatorError,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Backoff(BaseRetryStrategy):
    """Retry only `RetryLaterError`: after `base`, doubling per attempt, capped; or Retry-After.

    How many attempts an order gets is the use case's decision (it counts them
    in the order's row, so a job retried after a crash counts too); this only
    says *when* the next one runs.

    A job waiting for the operator (`WaitingForOperatorError`) is retried for as
    long as it takes, on a slower schedule: doubling from at least a second up
    to `operator_s`, minus up to a fifth at random so that the orders held by
    one problem do not all call the provider in the same instant. (The exponent
    stops growing long before a float would overflow: a job waiting a week for
    the operator has been retried thousands of times.)
    """

    base_s: float
    max_s: float
    operator_s: float = 300.0

    def get_retry_decision(self, *, exception: BaseException, job: Job) -> RetryDecision | None:
        if isinstance(exception, WaitingForOperatorError):
            wait = min(max(self.base_s, 1.0) * 2 ** min(job.attempts, 32), self.operator_s)
            wait *= random.uniform(0.8, 1.0)
        elif isinstance(exception, RetryLaterError):
            wait = min(self.base_s * 2 ** min(job.attempts, 32), self.max_s)
            wait = max(wait, exception.retry_after or 0.0)
        else:
            return None
        return RetryDecision(retry_at=dt.datetime.now(dt.UTC) + dt.timedelta(seconds=wait))


def exhaustion_telemetry(
    uow: Callable[[], UnitOfWork],
) -> Callable[[Callable[[], Awaitable[Any]], JobContext, Any], Awaitable[Any]]:
    """A worker middleware: a job failing for good emits `job.exhausted` through the outbox.

    Failures a use case already reported (`ReportedFailureError`, e.g. the
    submission's last attempt) are not reported twice.
    """

    async def middleware(
        call_next: Callable[[], Awaitable[Any]], context: JobContext, worker: Any
    ) -> Any:
        try:
            return await call_next()
        except ReportedFailureError:
            raise
        except Exception as exc:
            job = context.job
            strategy = context.app.tasks[job.task_name].retry_strategy
            if strategy is None or strategy.get_retry_decision(exception=exc, job=job) is None:
                log.error("job gave up", extra={"job_id": job.id, "task": job.task_name})
                async with uow() as unit:
                    await unit.emit(
                        JobExhausted(
                            job_name=job.task_name,
                            job_id=str(job.id),
                            attempts=job.attempts + 1,
                            last_error=describe(exc)[:500],  # masked: it goes on the owner's feed
                            order_id=job.task_kwargs.get("order_id"),
                        )
                    )
                    await unit.commit()
            raise

    return middleware
