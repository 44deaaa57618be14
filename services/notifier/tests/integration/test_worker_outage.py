"""The job worker outlives a database outage, retries what a dead worker left, and stops
only when told to.

PostgreSQL is taken away by cutting a proxy in front of it (the shared server
keeps running). The connector's timeouts are lowered so the worker gives up
within seconds, as procrastinate does after its pool timeout in production.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from shoptrail.events import new_event
from shoptrail.events.ingest import OrderCreated
from shoptrail.notifier.adapters.clock import ManualClock
from shoptrail.notifier.adapters.jobs import SEND_EMAIL
from shoptrail.notifier.bootstrap import (
    RETRY_STALLED_JOBS,
    Notifier,
    run_worker,
    watch_stalled_jobs,
)
from shoptrail.notifier.config import Settings
from shoptrail.notifier.service_layer.orders import on_order_created
from shoptrail.testing import free_port, listening
from shoptrail.testing.doors import HealthDoor
from shoptrail.testing.proxy import TcpProxy, proxied_url

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

COMPONENT = "worker:notifier-worker"
NotifierFactory = Callable[..., Awaitable[Notifier]]


@contextlib.asynccontextmanager
async def proxied(settings: Settings) -> AsyncIterator[tuple[TcpProxy, Settings]]:
    """A proxy in front of the test's database, and settings that reach it only through it."""
    async with proxied_url(settings.database_url) as (proxy, through):
        update = {"database_url": through, "worker_db_timeout_s": 2.0}
        yield proxy, settings.model_copy(update=update)


async def _an_order_is_placed(notifier: Notifier, clock: ManualClock, order_id: str) -> None:
    """What the consumer does with `order.created`: owe a confirmation, queue its job."""
    order = OrderCreated.example().model_copy(update={"order_id": order_id})
    await on_order_created(
        event=new_event(order, source="/services/ingest"),
        uow=notifier.uow(),
        queue=notifier.queue,
        clock=clock,
    )


async def _until(check: Callable[[], bool], timeout: float) -> None:
    async with asyncio.timeout(timeout):
        while not check():
            await asyncio.sleep(0.1)


@pytest.mark.timeout(300)
async def test_the_worker_restarts_itself_after_a_database_outage_and_sends_again(
    make_notifier: NotifierFactory, smtp: Any, clock: ManualClock
) -> None:
    direct = await make_notifier()  # migrated, the shop's sender set; reaches the database
    port = free_port()
    door = HealthDoor(port, component=COMPONENT)
    async with proxied(direct.settings) as (proxy, through_proxy):
        worker = asyncio.create_task(run_worker(through_proxy, concurrency=2, port=port))
        try:
            await door.wait_for(lambda status, _: status == 200, timeout=90)

            await proxy.cut()
            # Down for longer than the pool timeout: the worker failed, was started again,
            # and has been failing for longer than a blip (its component says not ready).
            during = await door.wait_for(
                lambda status, body: status == 503 and not body["components"][COMPONENT]["ready"],
                timeout=120,
            )
            assert during["checks"] == {"database": False}
            assert during["components"][COMPONENT]["last_error"]
            assert await door.restarts() >= 1
            assert not worker.done(), "the worker process gave up"

            await proxy.restore()
            after = await door.wait_for(lambda status, _: status == 200, timeout=120)
            assert after["components"] == {COMPONENT: {"ready": True}}

            await _an_order_is_placed(direct, clock, "ord_after_outage")
            await _until(lambda: len(smtp.messages) == 1, timeout=90)
            assert "Thank you for your order" in smtp.messages[0]["Subject"]
            assert not worker.done()
        finally:
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(worker, 60)
            await door.aclose()
    assert worker.cancelled()  # it ended because it was told to, and promptly


async def test_a_send_job_left_doing_by_a_dead_worker_is_retried_and_the_email_sent(
    make_notifier: NotifierFactory,
    smtp: Any,
    clock: ManualClock,
    run_jobs: Callable[[Notifier], Awaitable[None]],
) -> None:
    notifier = await make_notifier()
    watch_stalled_jobs(notifier)
    await _an_order_is_placed(notifier, clock, "ord_stalled")
    async with notifier.engine.begin() as conn:
        # A worker took the job, then died: its heartbeat stopped an hour ago.
        dead = await conn.scalar(
            text(
                "INSERT INTO procrastinate_workers (last_heartbeat) "
                "VALUES (now() - interval '1 hour') RETURNING id"
            )
        )
        await conn.execute(
            text("UPDATE procrastinate_jobs SET status = 'doing', worker_id = :w"),
            {"w": dead},
        )

    await notifier.jobs.configure_task(RETRY_STALLED_JOBS).defer_async(timestamp=0)
    await run_jobs(notifier)

    assert len(smtp.messages) == 1
    async with notifier.engine.connect() as conn:
        statuses = await conn.execute(
            text("SELECT task_name, status::text FROM procrastinate_jobs ORDER BY id")
        )
        assert statuses.all() == [(SEND_EMAIL, "succeeded"), (RETRY_STALLED_JOBS, "succeeded")]


@pytest.mark.timeout(180)
async def test_sigterm_stops_the_worker_process_gracefully(
    make_notifier: NotifierFactory, tmp_path: Path
) -> None:
    notifier = await make_notifier()
    port = free_port()
    door = HealthDoor(port, component=COMPONENT)
    settings = notifier.settings
    env = {
        "NOTIFIER_ENVIRONMENT": "test",
        "NOTIFIER_DATABASE_URL": settings.database_url,
        "NOTIFIER_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
        "NOTIFIER_SMTP_PORT": str(settings.smtp_port),
        "NOTIFIER_STATE_DIR": str(tmp_path / "worker-state"),
    }
    process = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).parent / "shoptrail-notifier"),
        "worker",
        "--port",
        str(port),
        env=os.environ | env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        await door.wait_for(lambda status, _: status == 200, timeout=90)
        # Ready means its pool is open; procrastinate registers the worker a moment later.
        async with asyncio.timeout(60):
            while True:
                async with notifier.engine.connect() as conn:
                    registered = await conn.scalar(
                        text("SELECT count(*) FROM procrastinate_workers")
                    )
                if registered == 1:
                    break
                await asyncio.sleep(0.1)

        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), 30)
        assert process.returncode == 0, stderr.decode(errors="replace")[-3000:]
        assert not listening(port)
        async with notifier.engine.connect() as conn:
            registered = await conn.scalar(text("SELECT count(*) FROM procrastinate_workers"))
        assert registered == 0  # it unregistered: a graceful stop
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        await door.aclose()
