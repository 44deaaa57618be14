"""The job worker outlives a database outage, and stops only when told to.

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
from collections.abc import AsyncIterator

import pytest

from shoptrail.events import new_event
from shoptrail.events.ingest import OrderCreated
from shoptrail.fulfilment.bootstrap import open_services, run_worker
from shoptrail.fulfilment.config import Settings
from shoptrail.fulfilment.devtools.fake_provider import FakeProvider
from shoptrail.fulfilment.devtools.harness import TopicReader, settings_env
from shoptrail.fulfilment.service_layer.submission import record_order
from shoptrail.testing import free_port, listening
from shoptrail.testing.doors import HealthDoor
from shoptrail.testing.proxy import TcpProxy, proxied_url

pytestmark = [pytest.mark.kafka, pytest.mark.postgres, pytest.mark.slow]

WORKER = "outage-worker"
COMPONENT = f"worker:{WORKER}"


@contextlib.asynccontextmanager
async def proxied(settings: Settings) -> AsyncIterator[tuple[TcpProxy, Settings]]:
    """A proxy in front of the test's database, and settings that reach it only through it."""
    async with proxied_url(settings.database_url) as (proxy, through):
        update = {"database_url": through, "worker_db_timeout_s": 2.0}
        yield proxy, settings.model_copy(update=update)


@pytest.mark.timeout(300)
async def test_the_worker_restarts_itself_after_a_database_outage_and_runs_jobs_again(
    settings: Settings, fake: FakeProvider, read_topic: TopicReader
) -> None:
    port = free_port()
    door = HealthDoor(port, component=COMPONENT)
    async with proxied(settings) as (proxy, through_proxy):
        worker = asyncio.create_task(run_worker(through_proxy, name=WORKER, port=port))
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
            assert after["components"][COMPONENT] == {"ready": True}

            # A job deferred now runs: the order reaches the provider, and the outbox
            # relay (running beside the worker throughout) publishes what happened.
            order = OrderCreated.example().model_copy(update={"order_id": "ord_after_outage"})
            direct = open_services(settings)
            try:
                assert await record_order(
                    event=new_event(order, source="/services/ingest"),
                    uow=direct.uow(),
                    max_attempts=settings.max_submission_attempts,
                )
            finally:
                await direct.aclose()
            (published,) = await read_topic(settings.fulfilment_topic, 1, timeout=90)
            assert b"order.submitted" in published.value
            assert len(fake.orders_with_external_id("ord_after_outage")) == 1
            assert not worker.done()
        finally:
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(worker, 60)
            await door.aclose()
    assert worker.cancelled()  # it ended because it was told to, and promptly


@pytest.mark.timeout(180)
async def test_sigterm_stops_the_worker_process_gracefully(settings: Settings) -> None:
    port = free_port()
    door = HealthDoor(port, component=COMPONENT)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "shoptrail.fulfilment",
        "worker",
        "--name",
        WORKER,
        "--port",
        str(port),
        env=os.environ | settings_env(settings),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        await door.wait_for(lambda status, _: status == 200, timeout=90)
        services = open_services(settings)
        try:
            # Ready means its pool is open; procrastinate registers the worker a moment later.
            async with asyncio.timeout(60):
                while True:
                    async with services.engine.connect() as conn:
                        registered = await conn.exec_driver_sql(
                            "SELECT count(*) FROM procrastinate_workers"
                        )
                        if registered.scalar() == 1:
                            break
                    await asyncio.sleep(0.1)

            process.send_signal(signal.SIGTERM)
            _, stderr = await asyncio.wait_for(process.communicate(), 30)
            assert process.returncode == 0, stderr.decode(errors="replace")[-3000:]
            assert not listening(port)
            async with services.engine.connect() as conn:
                registered = await conn.exec_driver_sql(
                    "SELECT count(*) FROM procrastinate_workers"
                )
                assert registered.scalar() == 0  # it unregistered: a graceful stop
        finally:
            await services.aclose()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        await door.aclose()
