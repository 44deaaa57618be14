"""The job-worker supervisor: restarts after failures with backoff, reports health, stops
promptly when cancelled."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import procrastinate
import pytest
from procrastinate.testing import InMemoryConnector

from shoptrail.events.failures import Backoff
from shoptrail.events.health import Health
from shoptrail.kit.workers import procrastinate_worker, supervise

WAIT = 10.0  # generous bounds on a shared, loaded machine; the expected path is far quicker


@dataclass(frozen=True)
class RecordingBackoff(Backoff):
    """Waits no time, but remembers which attempts asked."""

    asked: list[int] = field(default_factory=list)

    def delay(self, attempt: int) -> float:
        self.asked.append(attempt)
        return 0.0


class FlakyWorker:
    """Fails `failures` times (a database error wrapping its cause), then runs until cancelled."""

    def __init__(self, health: Health, failures: int) -> None:
        self.health = health
        self.failures = failures
        self.calls = 0
        self.failing_when_called: list[bool] = []
        self.running = asyncio.Event()
        self.stopped_gracefully = False

    async def __call__(self, started: Callable[[], None]) -> None:
        self.calls += 1
        self.failing_when_called.append(self.health.failing_since is not None)
        if self.calls <= self.failures:
            try:
                raise OSError("connection to 'db.internal' refused for jo@example.com")
            except OSError as cause:
                raise RuntimeError("Database error.") from cause
        started()
        self.running.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.stopped_gracefully = True
            raise


async def _until(condition: Callable[[], bool]) -> None:
    async with asyncio.timeout(WAIT):
        while not condition():
            await asyncio.sleep(0.01)


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, WAIT)


class TestRestarts:
    async def test_a_worker_that_fails_is_restarted_with_backoff_until_it_runs(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        health = Health("worker:test")
        backoff = RecordingBackoff()
        worker = FlakyWorker(health, failures=3)
        caplog.set_level(logging.WARNING, logger="shoptrail.kit.workers")

        task = asyncio.create_task(supervise(worker, health=health, backoff=backoff))
        await asyncio.wait_for(worker.running.wait(), WAIT)

        assert worker.calls == 4
        assert health.counts["restarted"] == 3
        assert backoff.asked == [1, 2, 3]  # growing steps: consecutive failures
        assert worker.failing_when_called == [False, True, True, True]
        assert health.failing_since is None and health.last_error is None  # working again
        restarts = [r for r in caplog.records if "starting it again" in r.getMessage()]
        assert [r.attempt for r in restarts] == [1, 2, 3]  # type: ignore[attr-defined]
        reason = restarts[0].reason  # type: ignore[attr-defined]
        assert reason.startswith("RuntimeError: Database error. (caused by OSError")
        assert "jo@example.com" not in reason and "db.internal" not in reason
        assert all(r.exc_info is None for r in restarts)  # no traceback, only the safe line
        await _cancel(task)

    async def test_the_failing_state_is_reported_while_down(self) -> None:
        health = Health("worker:test")
        release = asyncio.Event()

        async def down_until_released(started: Callable[[], None]) -> None:
            if not release.is_set():
                raise ConnectionRefusedError("database away")
            started()
            await asyncio.Event().wait()

        task = asyncio.create_task(
            supervise(down_until_released, health=health, backoff=Backoff(base=0.01, cap=0.05))
        )
        await _until(lambda: health.counts["restarted"] >= 2)
        assert health.failing_since is not None
        assert health.last_error == "ConnectionRefusedError: database away"
        assert "last_error" in health.report()

        release.set()
        await _until(lambda: health.failing_since is None)
        assert health.report() == {"ready": True}
        await _cancel(task)

    async def test_a_worker_that_stops_by_itself_is_started_again(self) -> None:
        health = Health("worker:test")
        calls: list[int] = []
        running = asyncio.Event()

        async def gives_up_once(started: Callable[[], None]) -> None:
            calls.append(1)
            started()
            if len(calls) == 1:
                return  # what procrastinate does when a side task fails: it stops itself
            running.set()
            await asyncio.Event().wait()

        task = asyncio.create_task(
            supervise(gives_up_once, health=health, backoff=RecordingBackoff())
        )
        await asyncio.wait_for(running.wait(), WAIT)
        assert len(calls) == 2
        assert health.counts["restarted"] == 1
        await _cancel(task)

    async def test_backoff_starts_over_after_a_run_that_got_going(self) -> None:
        health = Health("worker:test")
        backoff = RecordingBackoff()
        calls: list[int] = []
        running = asyncio.Event()

        async def fails_fails_runs_briefly_fails(started: Callable[[], None]) -> None:
            calls.append(1)
            if len(calls) in (1, 2, 4):
                raise OSError("away")
            started()
            if len(calls) == 3:
                return
            running.set()
            await asyncio.Event().wait()

        task = asyncio.create_task(
            supervise(fails_fails_runs_briefly_fails, health=health, backoff=backoff)
        )
        await asyncio.wait_for(running.wait(), WAIT)
        assert backoff.asked == [1, 2, 1, 2]
        await _cancel(task)


class TestStopping:
    async def test_cancelling_stops_a_running_worker_gracefully_and_promptly(self) -> None:
        health = Health("worker:test")
        worker = FlakyWorker(health, failures=0)
        task = asyncio.create_task(supervise(worker, health=health, stop_timeout=3600))
        await asyncio.wait_for(worker.running.wait(), WAIT)

        await _cancel(task)  # well before the (huge) stop timeout: the graceful path ended it
        assert worker.stopped_gracefully
        assert health.counts["restarted"] == 0

    async def test_cancelling_during_the_backoff_wait_stops_at_once(self) -> None:
        health = Health("worker:test")

        async def always_fails(started: Callable[[], None]) -> None:
            raise OSError("away")

        task = asyncio.create_task(
            supervise(always_fails, health=health, backoff=Backoff(base=3600, cap=3600))
        )
        await _until(lambda: health.failing_since is not None)
        await _cancel(task)
        assert health.counts["restarted"] == 0

    async def test_a_stop_that_hangs_is_cut_short_after_the_stop_timeout(self) -> None:
        health = Health("worker:test")
        running = asyncio.Event()
        cancellations: list[int] = []

        async def slow_to_stop(started: Callable[[], None]) -> None:
            started()
            running.set()
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                cancellations.append(1)
                try:
                    await asyncio.Event().wait()  # e.g. unregistering from a database that is away
                except asyncio.CancelledError:
                    cancellations.append(2)
                    raise

        task = asyncio.create_task(supervise(slow_to_stop, health=health, stop_timeout=0.2))
        await asyncio.wait_for(running.wait(), WAIT)
        await _cancel(task)
        assert cancellations == [1, 2]


class RefusingConnector(InMemoryConnector):
    """procrastinate's in-memory database, which can refuse to open like one that is away."""

    def __init__(self, *, refuse: bool = False, tables: bool = True) -> None:
        super().__init__()
        self.refuse = refuse
        self.table_exists = tables

    async def open_async(self, pool: Any = None) -> None:
        if self.refuse:
            raise ConnectionRefusedError("database away")
        await super().open_async(pool)


class TestProcrastinateWorker:
    async def test_each_run_gets_a_fresh_connector_which_is_always_closed(self) -> None:
        original = InMemoryConnector()
        app = procrastinate.App(connector=original)
        ran = asyncio.Event()

        @app.task(name="record")
        async def record() -> None:
            ran.set()

        made: list[RefusingConnector] = []

        def connector() -> RefusingConnector:
            made.append(RefusingConnector(refuse=not made))  # the first one cannot open
            return made[-1]

        health = Health("worker:test")
        worker = procrastinate_worker(
            app, connector=connector, fetch_job_polling_interval=0.05, listen_notify=False
        )
        task = asyncio.create_task(supervise(worker, health=health, backoff=RecordingBackoff()))
        await _until(lambda: len(made) == 2 and health.failing_since is None)

        await app.configure_task("record").defer_async()  # through the run's connector
        await asyncio.wait_for(ran.wait(), WAIT)
        assert made[0].states == ["closed_async"]  # failed to open, still closed
        assert made[1].states == ["open_async"]
        assert app.connector is made[1]
        assert health.counts["restarted"] == 1

        await _cancel(task)
        assert made[1].states == ["open_async", "closed_async"]
        assert app.connector is original
        assert made[1].workers == {}  # the worker unregistered: it stopped gracefully

    async def test_missing_job_tables_are_a_reason_to_wait_not_to_run(self) -> None:
        app = procrastinate.App(connector=InMemoryConnector())
        health = Health("worker:test")
        worker = procrastinate_worker(app, connector=lambda: RefusingConnector(tables=False))
        task = asyncio.create_task(
            supervise(worker, health=health, backoff=Backoff(base=0.01, cap=0.05))
        )
        await _until(lambda: health.counts["restarted"] >= 1)
        assert (
            health.last_error == "TransientError: the job queue's tables are missing: run `migrate`"
        )
        await _cancel(task)
