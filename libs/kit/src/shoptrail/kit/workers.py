"""Job workers that outlive outages: supervised, restarted, observable, stopped only when told.

A procrastinate worker gives up for good when its database goes away: a
`PoolTimeout` while it fetches a job or unregisters becomes a
`ConnectorException` out of `run_worker_async`, and a failing side task
(heartbeat, LISTEN connection) makes it stop itself and return. `supervise()`
runs it again after either, on a fresh connector and pool each time, with
capped, jittered backoff, until it is cancelled. Its `Health` says whether the
worker is working, so `/readyz` and `/metrics` (`worker_door()`, `serving()`)
tell an orchestrator what happens.

The process's signals are handled once, by `run_until_signalled()`: SIGTERM or
SIGINT cancels the work; procrastinate turns that cancellation into a graceful
stop (no new jobs, running ones finish, the worker unregisters), bounded by
`STOP_TIMEOUT_SECONDS` so a database that does not answer cannot hold the
process. Jobs cut short that way stay `doing` until a stalled-job check puts
them back in the queue (see `retry_stalled_jobs`).

procrastinate and uvicorn are imported where they are used: the services that
run workers depend on them, other users of this library need not.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Coroutine,
    Iterable,
    Iterator,
    Mapping,
)
from typing import TYPE_CHECKING, Any, NoReturn

from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from shoptrail.events.failures import Backoff, TransientError, classify, describe
from shoptrail.events.health import Health
from shoptrail.kit.health import Check, health_router, register_health_metrics
from shoptrail.kit.metrics import instrument_http, serve_metrics
from shoptrail.kit.serving import uvicorn_config

if TYPE_CHECKING:
    from procrastinate import App
    from procrastinate.app import WorkerOptions
    from procrastinate.connector import BaseAsyncConnector
    from starlette.types import ASGIApp
    from typing_extensions import Unpack

log = logging.getLogger(__name__)

RESTART_BACKOFF = Backoff(base=1.0, cap=30.0)
"""Waits between restarts: about 1 s after the first failure, doubling up to 30 s."""

STOP_TIMEOUT_SECONDS = 10.0
"""How long a graceful stop may take before what still runs is cancelled."""

Run = Callable[[Callable[[], None]], Awaitable[None]]
"""One run of supervised work: it calls `started()` once it is up, and returns or raises when
it stops. Cancelling it must stop it gracefully."""


async def supervise(
    run: Run,
    *,
    health: Health,
    backoff: Backoff = RESTART_BACKOFF,
    stop_timeout: float = STOP_TIMEOUT_SECONDS,
) -> NoReturn:
    """Run `run` forever: after every failure, or a stop nobody asked for, back off and
    start it again. Only cancellation ends it (after stopping `run` gracefully)."""
    failures = 0
    health.count("restarted", 0)  # exported at 0 from the start: `increase()` sees the first

    def started() -> None:
        nonlocal failures
        failures = 0
        health.working()

    while True:
        error = await _run_once(run, started, stop_timeout)
        failures += 1
        reason = "it stopped by itself" if error is None else _reason(error)
        wait = backoff.delay(failures)
        health.failing(reason)
        log.warning(
            "job worker stopped; starting it again",
            extra={
                "component": health.component,
                "attempt": failures,
                "kind": "unknown" if error is None else classify(error).value,
                "reason": reason,
                "retry_in_s": round(wait, 2),
            },
        )
        await asyncio.sleep(wait)
        health.count("restarted")


async def _run_once(
    run: Run, started: Callable[[], None], stop_timeout: float
) -> BaseException | None:
    """Run once; what ended it (None: it returned). A cancellation stops it, then re-raises."""

    async def call() -> None:
        await run(started)

    task = asyncio.create_task(call(), name="supervised job worker")
    try:
        # Waiting (not awaiting the task) keeps our own cancellation out of the task, so
        # stopping it can be bounded below.
        await asyncio.wait({task})
    except asyncio.CancelledError:
        await _stop(task, stop_timeout)
        raise
    if task.cancelled():
        return asyncio.CancelledError("the worker was cancelled from inside")
    return task.exception()


async def _stop(task: asyncio.Task[None], timeout: float) -> None:
    task.cancel()  # procrastinate: fetch no more jobs, let running ones finish, unregister
    done, _ = await asyncio.wait({task}, timeout=timeout)
    if not done:
        log.warning(
            "job worker did not stop in time; cancelling what still runs",
            extra={"timeout_s": timeout},
        )
        task.cancel()  # a second cancellation reaches past procrastinate's shield
        done, _ = await asyncio.wait({task}, timeout=timeout)
    if done and not task.cancelled() and (error := task.exception()) is not None:
        log.warning("job worker failed while stopping", extra={"reason": _reason(error)})


def _reason(error: BaseException) -> str:
    """One safe line: the error and, when it wraps one, its root cause.

    procrastinate's `ConnectorException` says only "Database error."; the
    `PoolTimeout` or `OperationalError` it wraps says what happened.
    """
    text = describe(error)
    root, depth = error, 0
    while root.__cause__ is not None and depth < 8:
        root, depth = root.__cause__, depth + 1
    return text if root is error else f"{text} (caused by {describe(root)})"


def procrastinate_worker(
    app: App,
    *,
    connector: Callable[[], BaseAsyncConnector],
    **options: Unpack[WorkerOptions],
) -> Run:
    """One run of `app`'s worker, for `supervise()`, on a fresh `connector()` each time.

    A fresh connector per run is what makes a restart clean: a pool that
    failed to open is closed but stays attached to its connector, which would
    then answer `PoolClosed` forever. While a run lasts, the connector replaces
    the app's own (`App.replace_connector`), so tasks deferring jobs use it too.
    Signal handlers are not installed: cancellation is how the worker is stopped.
    """

    worker_options: WorkerOptions = {**options, "install_signal_handlers": False}

    async def run(started: Callable[[], None]) -> None:
        fresh = connector()
        with app.replace_connector(fresh):
            try:
                await fresh.open_async()
                if not await app.check_connection_async():
                    raise TransientError("the job queue's tables are missing: run `migrate`")
                started()
                await app.run_worker_async(**worker_options)
            finally:
                try:
                    await fresh.close_async()
                except Exception as error:  # this connector is thrown away either way
                    log.info(
                        "closing the job worker's pool failed", extra={"reason": _reason(error)}
                    )

    return run


async def retry_stalled_jobs(app: App, *, stalled_after_s: float) -> int:
    """Put back in the queue the jobs of workers that stopped sending heartbeats.

    A worker killed, or cut short while stopping, leaves its jobs `doing`
    forever otherwise. A job whose twin is already waiting (same queueing
    lock) is marked failed instead: the waiting one does the work. How many
    jobs were put back.
    """
    from procrastinate.exceptions import ConnectorException, UniqueViolation
    from procrastinate.jobs import Status

    manager = app.job_manager
    retried = 0
    for job in await manager.get_stalled_jobs(seconds_since_heartbeat=stalled_after_s):
        extra = {"job_id": job.id, "task": job.task_name}
        try:
            await manager.retry_job(job)
        except UniqueViolation:
            log.warning(
                "a stalled job's twin is already queued; failing the stalled one", extra=extra
            )
            await manager.finish_job(job, status=Status.FAILED, delete_job=False)
            continue
        except ConnectorException as error:
            # procrastinate_retry_job_v2 RAISEs when the job is no longer `doing` or
            # `failed`: an operator (`jobs retry`) or another check was quicker.
            if type(error.__cause__).__name__ != "RaiseException":
                raise
            log.info("a stalled job was put back meanwhile", extra=extra)
            continue
        log.warning("retrying a stalled job", extra=extra)
        retried += 1
    return retried


def worker_door(
    service: str,
    *,
    checks: Mapping[str, Check],
    components: Callable[[], Iterable[Health]],
    registry: CollectorRegistry | None = None,
) -> FastAPI:
    """A worker process's HTTP door: `/healthz`, `/readyz` and `/metrics`, nothing else.

    `/metrics` serves `registry` (the worker's own metrics and samplers, when it
    has some) plus the components' health.
    """
    app = FastAPI(
        title=f"Shoptrail {service}",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        telemetry={"tracing": False, "metrics": False, "logs": False},  # probes only
    )
    app.include_router(health_router(service, checks=checks, components=components))
    if registry is None:
        registry = CollectorRegistry(auto_describe=True)
    register_health_metrics(registry, components)
    serve_metrics(app, registry)
    instrument_http(app, registry)
    return app


@contextlib.asynccontextmanager
async def serving(app: ASGIApp, *, host: str, port: int) -> AsyncIterator[None]:
    """Serve `app` with uvicorn in this event loop for the block's duration.

    A port that cannot be bound is logged, not raised: the jobs matter more
    than the door, and a readiness probe that gets no answer says the rest.
    """
    import uvicorn

    class Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield  # the process's signals are run_until_signalled's, not the door's

    try:
        sock = socket.create_server((host, port))
    except OSError as error:
        log.error(
            "cannot open the health door; running without it",
            extra={"host": host, "port": port, "reason": describe(error)},
        )
        yield
        return
    config = uvicorn_config(app, access_log=False, lifespan="off", timeout_graceful_shutdown=3)
    server = Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]), name=f"health door :{port}")
    log.info("health door open", extra={"host": host, "port": sock.getsockname()[1]})
    try:
        yield
    finally:
        server.should_exit = True
        with contextlib.suppress(Exception):
            await task
        sock.close()


SIGNALS = (signal.SIGTERM, signal.SIGINT)


def run_until_signalled(main: Coroutine[Any, Any, None]) -> None:
    """`asyncio.run(main)`, where SIGTERM or SIGINT cancels `main`: a graceful stop, exit 0."""

    async def guarded() -> None:
        loop = asyncio.get_running_loop()
        task = asyncio.ensure_future(main)
        told: list[str] = []

        def stop(sig: signal.Signals) -> None:
            log.info("stopping", extra={"signal": sig.name})
            told.append(sig.name)
            task.cancel()

        for sig in SIGNALS:
            loop.add_signal_handler(sig, stop, sig)
        try:
            await task
        except asyncio.CancelledError:
            if not told:
                raise
        finally:
            for sig in SIGNALS:
                loop.remove_signal_handler(sig)

    asyncio.run(guarded())
