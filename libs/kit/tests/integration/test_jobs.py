"""The operator's view of a procrastinate queue, on real PostgreSQL with a real worker."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from typing import Any

import pytest
from procrastinate import App, PsycopgConnector
from procrastinate.jobs import Job
from sqlalchemy.engine import make_url

from shoptrail.kit.jobs import (
    JobNotFoundError,
    JobQueue,
    JobState,
    JobStateError,
    apply_errors_schema,
    open_job_queue,
    record_job_errors,
)
from shoptrail.kit.workers import retry_stalled_jobs

pytestmark = pytest.mark.postgres

STALLED_AFTER_S = 30.0
CUSTOMER = "jane.doe@example.com"


@dataclass
class Queue:
    """A procrastinate app with two tasks, and the operator's `JobQueue` on the same database."""

    app: App
    ops: JobQueue

    async def run_worker(self) -> None:
        """Run every due job, then stop."""
        await self.app.run_worker_async(
            wait=False, install_signal_handlers=False, worker_middleware=[record_job_errors()]
        )

    async def sql(self, query: str, **params: object) -> list[dict[str, object]]:
        return await self.app.connector.execute_query_all_async(query=query, **params)

    async def dead_worker(self) -> int:
        """A worker row whose last heartbeat is an hour old (its process was killed)."""
        worker_id = await self.app.job_manager.register_worker()
        await self.sql(
            "UPDATE procrastinate_workers SET last_heartbeat = now() - interval '1 hour' "
            "WHERE id = %(id)s RETURNING id",
            id=worker_id,
        )
        return worker_id

    async def take(self, worker_id: int) -> Job:
        """A worker takes the next job (`doing`), as a worker's fetch does."""
        job = await self.app.job_manager.fetch_job(queues=None, worker_id=worker_id)
        assert job is not None
        return job


@pytest.fixture
async def queue(database_url: str) -> AsyncIterator[Queue]:
    conninfo = make_url(database_url).set(drivername="postgresql").render_as_string(False)
    app = App(connector=PsycopgConnector(conninfo=conninfo, min_size=1, max_size=4))

    @app.task(name="charge_card")
    async def charge_card(order_id: str) -> None:
        raise ValueError(f"card of {CUSTOMER} declined: '4242 4242'")

    @app.task(name="noop", queueing_lock="noop")
    async def noop(n: int) -> None:
        return None

    async with app.open_async():
        await app.schema_manager.apply_schema_async()
        await apply_errors_schema(app.connector)  # type: ignore[arg-type]
        async with open_job_queue(conninfo, stalled_after_s=STALLED_AFTER_S) as ops:
            yield Queue(app, ops)


async def _failed_job(queue: Queue) -> int:
    job_id = await queue.app.configure_task("charge_card").defer_async(order_id="ord_1")
    await queue.run_worker()
    return job_id


class TestListing:
    async def test_a_job_that_failed_for_good_is_listed_with_its_last_error_and_no_pii(
        self, queue: Queue
    ) -> None:
        job_id = await _failed_job(queue)
        (job,) = await queue.ops.list("failed")
        assert (job.id, job.task, job.state, job.attempts) == (job_id, "charge_card", "failed", 1)
        assert job.args == {"order_id": "ord_1"}
        assert job.last_error is not None
        assert job.last_error.startswith("ValueError: card of <email> declined")
        assert CUSTOMER not in job.last_error and "4242" not in job.last_error
        assert job.started_at is not None and job.failed_at is not None
        assert await queue.ops.list("waiting") == []

    async def test_waiting_jobs_include_scheduled_ones(self, queue: Queue) -> None:
        now = await queue.app.configure_task("noop").defer_async(n=1)
        later = queue.app.configure_task("noop", schedule_in={"hours": 1}, queueing_lock="later")
        later_id = await later.defer_async(n=2)
        waiting = await queue.ops.list("waiting")
        assert [j.id for j in waiting] == [later_id, now]  # newest first
        assert waiting[0].scheduled_at is not None and waiting[1].scheduled_at is None

    async def test_all_shows_the_failed_ones_however_many_wait(self, queue: Queue) -> None:
        failed = await _failed_job(queue)
        waiting = [
            await queue.app.configure_task("noop", queueing_lock=f"n{n}").defer_async(n=n)
            for n in range(3)
        ]
        listed = await queue.ops.list("all", limit=2)
        assert [(j.id, j.state) for j in listed] == [
            (failed, "failed"),
            (waiting[2], "waiting"),
            (waiting[1], "waiting"),
        ]

    async def test_a_job_whose_worker_stopped_sending_heartbeats_is_stalled(
        self, queue: Queue
    ) -> None:
        await queue.app.configure_task("noop").defer_async(n=1)
        taken = await queue.take(await queue.dead_worker())
        await queue.app.configure_task("noop").defer_async(n=2)
        running = await queue.take(await queue.app.job_manager.register_worker())

        stalled = await queue.ops.list("stalled")
        assert [j.id for j in stalled] == [taken.id]
        assert [j.id for j in await queue.ops.list("running")] == [running.id]
        # The same set procrastinate's own stalled-job recovery would retry:
        procrastinates = await queue.app.job_manager.get_stalled_jobs(
            seconds_since_heartbeat=STALLED_AFTER_S
        )
        assert [j.id for j in procrastinates] == [taken.id]
        assert {j.state for j in await queue.ops.list("all")} == {"stalled", "running"}


class TestRetry:
    async def test_a_failed_job_goes_back_once_and_a_second_retry_is_refused(
        self, queue: Queue
    ) -> None:
        job_id = await _failed_job(queue)
        retried = await queue.ops.retry(job_id)
        assert (retried.state, retried.attempts) == (JobState.WAITING, 2)  # procrastinate counts
        # the retry as an attempt
        with pytest.raises(JobStateError, match=f"job {job_id} is waiting"):
            await queue.ops.retry(job_id)
        assert [j.id for j in await queue.ops.list("waiting")] == [job_id]
        assert await queue.sql("SELECT count(*) AS n FROM procrastinate_jobs") == [{"n": 1}]

    async def test_two_retries_at_once_put_it_back_once(self, queue: Queue) -> None:
        job_id = await _failed_job(queue)
        outcomes = await asyncio.gather(
            queue.ops.retry(job_id), queue.ops.retry(job_id), return_exceptions=True
        )
        assert sorted(type(o).__name__ for o in outcomes) == ["JobInfo", "JobStateError"]
        (waiting,) = await queue.ops.list("waiting")
        assert (waiting.id, waiting.attempts) == (job_id, 2)

    async def test_the_retried_job_runs_again_and_keeps_its_newest_error(
        self, queue: Queue
    ) -> None:
        job_id = await _failed_job(queue)
        await queue.ops.retry(job_id)
        await queue.run_worker()
        (job,) = await queue.ops.list("failed")
        assert job.id == job_id and job.attempts == 3
        rows = await queue.sql("SELECT attempt FROM shoptrail_job_errors")
        assert rows == [{"attempt": 3}]  # one row per job: its newest error

    async def test_a_stalled_job_is_retried_but_a_running_one_is_not(self, queue: Queue) -> None:
        await queue.app.configure_task("noop").defer_async(n=1)
        stalled = await queue.take(await queue.dead_worker())
        assert stalled.id is not None
        assert (await queue.ops.retry(stalled.id)).state == JobState.WAITING

        running = await queue.take(await queue.app.job_manager.register_worker())
        assert running.id == stalled.id
        with pytest.raises(JobStateError, match="is running"):
            await queue.ops.retry(stalled.id)
        assert (await queue.ops.get(stalled.id)).state == JobState.RUNNING

    async def test_the_stalled_check_skips_a_job_the_operator_retried_meanwhile(
        self, queue: Queue, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        await queue.app.configure_task("noop").defer_async(n=1)
        stalled = await queue.take(await queue.dead_worker())
        assert stalled.id is not None
        manager = queue.app.job_manager
        found_stalled = manager.get_stalled_jobs

        async def then_the_operator_clicks(**kwargs: Any) -> Iterable[Job]:
            found = await found_stalled(**kwargs)
            assert stalled.id is not None
            await queue.ops.retry(stalled.id)
            return found

        monkeypatch.setattr(manager, "get_stalled_jobs", then_the_operator_clicks)
        assert await retry_stalled_jobs(queue.app, stalled_after_s=STALLED_AFTER_S) == 0
        job = await queue.ops.get(stalled.id)
        assert (job.state, job.attempts) == (JobState.WAITING, 1)  # put back once

    async def test_a_job_whose_twin_already_waits_is_not_retried(self, queue: Queue) -> None:
        await queue.app.configure_task("noop").defer_async(n=1)
        stalled = await queue.take(await queue.dead_worker())
        twin = await queue.app.configure_task("noop").defer_async(n=2)  # same queueing lock
        assert stalled.id is not None
        with pytest.raises(JobStateError, match="already waiting"):
            await queue.ops.retry(stalled.id)
        assert [j.id for j in await queue.ops.list("waiting")] == [twin]
        assert (await queue.ops.get(stalled.id)).state == JobState.STALLED

    async def test_an_unknown_job(self, queue: Queue) -> None:
        with pytest.raises(JobNotFoundError, match="no job 4242"):
            await queue.ops.retry(4242)


class TestCancel:
    async def test_a_waiting_job_is_cancelled_and_never_runs(self, queue: Queue) -> None:
        job_id = await queue.app.configure_task("noop").defer_async(n=1)
        assert (await queue.ops.cancel(job_id)).state == JobState.CANCELLED
        await queue.run_worker()
        assert (await queue.ops.get(job_id)).state == JobState.CANCELLED
        with pytest.raises(JobStateError, match="is cancelled"):
            await queue.ops.cancel(job_id)

    async def test_a_running_job_needs_abort_and_is_asked_to_stop(self, queue: Queue) -> None:
        await queue.app.configure_task("noop").defer_async(n=1)
        running = await queue.take(await queue.app.job_manager.register_worker())
        assert running.id is not None
        with pytest.raises(JobStateError, match="use abort"):
            await queue.ops.cancel(running.id)
        asked = await queue.ops.cancel(running.id, abort=True)
        assert (asked.state, asked.abort_requested) == (JobState.RUNNING, True)

    async def test_a_failed_job_cannot_be_cancelled(self, queue: Queue) -> None:
        job_id = await _failed_job(queue)
        with pytest.raises(JobStateError, match="is failed"):
            await queue.ops.cancel(job_id)
