"""Outbox backlog and job queue depth, read from real PostgreSQL on a timer."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import procrastinate
import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy import MetaData, insert, make_url, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from shoptrail.events.outbox import outbox_table
from shoptrail.kit.sampling import JobQueueSampler, OutboxSampler, sampling
from shoptrail.testing.metrics import until_sampled

pytestmark = pytest.mark.postgres

DEADLINE = 60.0  # generous: a shared, loaded machine


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(database_url)
    yield engine
    await engine.dispose()


class TestOutbox:
    async def test_depth_and_oldest_age_follow_the_table(self, engine: AsyncEngine) -> None:
        metadata = MetaData()
        outbox = outbox_table(metadata, "event_outbox")
        async with engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
        registry = CollectorRegistry()
        sampler = OutboxSampler(lambda: engine, [outbox.name])
        sampler.interval = 0.1
        registry.register(sampler)
        labels = {"outbox": "event_outbox"}

        async with sampling([sampler]):
            await until_sampled(registry, "shoptrail_outbox_rows", labels, 0.0)
            assert registry.get_sample_value("shoptrail_outbox_oldest_age_seconds", labels) == 0
            async with engine.begin() as conn:
                for n, minutes in enumerate((10, 1, 0)):
                    await conn.execute(
                        insert(outbox).values(
                            event_id=f"00000000-0000-7000-8000-00000000000{n}",
                            topic="t",
                            value=b"{}",
                            headers={},
                            created_at=text(f"now() - interval '{minutes} minutes'"),
                        )
                    )
            await until_sampled(registry, "shoptrail_outbox_rows", labels, 3.0)
            age = registry.get_sample_value("shoptrail_outbox_oldest_age_seconds", labels)
            assert age is not None
            assert 600 <= age < 600 + DEADLINE * 2  # the oldest row, not the newest

            async with engine.begin() as conn:  # the relay caught up
                await conn.execute(outbox.delete())
            await until_sampled(registry, "shoptrail_outbox_rows", labels, 0.0)
            await until_sampled(registry, "shoptrail_outbox_oldest_age_seconds", labels, 0.0)


async def until_waited(registry: CollectorRegistry, queue: str, *, at_least: float) -> None:
    labels = {"queue": queue}
    try:
        async with asyncio.timeout(DEADLINE):
            while (
                registry.get_sample_value("shoptrail_jobs_oldest_waiting_seconds", labels) or 0
            ) < at_least:
                await asyncio.sleep(0.05)
    except TimeoutError:
        pytest.fail(f"no job of {queue} was seen waiting {at_least}s")


async def defer(engine: AsyncEngine, queue: str, *, in_seconds: int | None = None) -> int:
    """A job, as procrastinate (and fulfilment's job queue) defers one."""
    scheduled = "NULL" if in_seconds is None else f"now() + interval '{in_seconds} seconds'"
    async with engine.begin() as conn:
        job_id: int = await conn.scalar(
            text(
                "SELECT unnest(procrastinate_defer_jobs_v1(ARRAY[ROW("
                f"'{queue}', 'task', 0, NULL, NULL, '{{}}'::jsonb, {scheduled}"
                ")::procrastinate_job_to_defer_v1]))"
            )
        )
    return job_id


async def sql(engine: AsyncEngine, statement: str, **params: object) -> None:
    async with engine.begin() as conn:
        await conn.execute(text(statement), params)


class TestJobQueue:
    async def test_depth_by_state_and_the_oldest_due_job(
        self, engine: AsyncEngine, database_url: str
    ) -> None:
        conninfo = make_url(database_url).set(drivername="postgresql")
        jobs = procrastinate.App(
            connector=procrastinate.PsycopgConnector(
                conninfo=conninfo.render_as_string(hide_password=False)
            )
        )
        async with jobs.open_async():
            await jobs.schema_manager.apply_schema_async()

        registry = CollectorRegistry()
        sampler = JobQueueSampler(lambda: engine, queues=["orders", "idle"])
        sampler.interval = 0.1
        registry.register(sampler)
        async with sampling([sampler]):
            # A queue named up front is reported idle before it ever held a job.
            await until_sampled(registry, "shoptrail_jobs", {"queue": "idle", "state": "todo"}, 0)
            await until_sampled(
                registry, "shoptrail_jobs_oldest_waiting_seconds", {"queue": "idle"}, 0
            )

            waiting = await defer(engine, "orders")
            await defer(engine, "orders")
            await defer(engine, "orders", in_seconds=3600)  # a retry not due yet: not waiting
            failed = await defer(engine, "orders")
            await sql(
                engine, "UPDATE procrastinate_jobs SET status = 'failed' WHERE id = :id", id=failed
            )
            await sql(
                engine,
                "UPDATE procrastinate_events SET at = now() - interval '5 minutes' "
                "WHERE job_id = :id",
                id=waiting,
            )

            # Counts and age come from one sample: wait for the one taken after all the above.
            await until_waited(registry, "orders", at_least=300)
            todo = {"queue": "orders", "state": "todo"}
            assert registry.get_sample_value("shoptrail_jobs", todo) == 3
            failed_jobs = {"queue": "orders", "state": "failed"}
            assert registry.get_sample_value("shoptrail_jobs", failed_jobs) == 1
            age = registry.get_sample_value(
                "shoptrail_jobs_oldest_waiting_seconds", {"queue": "orders"}
            )
            assert age is not None and age < 300 + DEADLINE * 2

            await sql(
                engine, "UPDATE procrastinate_jobs SET status = 'doing' WHERE id = :id", id=waiting
            )
            await until_sampled(
                registry, "shoptrail_jobs", {"queue": "orders", "state": "doing"}, 1
            )
            age = registry.get_sample_value(
                "shoptrail_jobs_oldest_waiting_seconds", {"queue": "orders"}
            )
            assert age is not None and age < 300  # the next one has waited only seconds
