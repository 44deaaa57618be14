"""Gauges read from a dependency on a timer: outbox backlog, job queue depth.

A Prometheus scrape calls `collect()` synchronously, with a deadline of its
own; a network round trip does not belong there. So a background task
(`sampling()`) runs each sampler's cheap query every `interval` seconds and
the collector hands out the last answer. Samplers are registered when the app
is built (their names are in `/metrics` from the start) and sampled while it
runs. A sampler whose query fails or hangs keeps its last values (logged once
per failing streak, never raised): the components' own health already says
that the database or Kafka is away.

Each family is exported even before the first answer (`# HELP`/`# TYPE` with
no samples), so a dashboard or alert rule can tell "no backlog" from "no such
metric".
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Iterable, Iterator

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from shoptrail.events.failures import describe

log = logging.getLogger(__name__)

SAMPLE_INTERVAL_SECONDS = 15.0
"""Often enough for alerts that wait minutes; rare enough to cost nothing."""

SAMPLE_TIMEOUT_SECONDS = 10.0
"""A round trip that takes longer is given up (and tried again at the next tick)."""


class PeriodicSampler(Collector):
    """Families refreshed by `sample()` on a timer; `collect()` serves the last ones."""

    interval: float = SAMPLE_INTERVAL_SECONDS

    def __init__(self) -> None:
        self._families: list[Metric] = self.empty()
        self._failing = False

    def empty(self) -> list[Metric]:
        """The families with no samples (what is exported before the first answer)."""
        raise NotImplementedError

    async def sample(self) -> list[Metric]:
        """One round trip: the families with fresh samples."""
        raise NotImplementedError

    async def refresh(self) -> bool:
        """Sample once; True if it worked (the last values stay otherwise)."""
        try:
            async with asyncio.timeout(SAMPLE_TIMEOUT_SECONDS):
                self._families = await self.sample()
        except Exception as error:
            if not self._failing:
                log.warning(
                    "could not sample metrics; keeping the last values",
                    extra={"sampler": type(self).__name__, "reason": describe(error)},
                )
            self._failing = True
            return False
        self._failing = False
        return True

    async def aclose(self) -> None:
        """Release what `sample()` holds open (nothing, unless a sampler says otherwise)."""

    async def run(self) -> None:
        """Refresh every `interval` seconds until cancelled."""
        while True:
            await self.refresh()
            await asyncio.sleep(self.interval)

    def collect(self) -> Iterator[Metric]:
        yield from self._families


@contextlib.asynccontextmanager
async def sampling(samplers: Iterable[PeriodicSampler]) -> AsyncIterator[None]:
    """Refresh `samplers` in the background for the block's duration."""
    samplers = list(samplers)
    tasks = [
        asyncio.create_task(sampler.run(), name=f"metrics sampler {type(sampler).__name__}")
        for sampler in samplers
    ]
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for sampler in samplers:
            await sampler.aclose()


def _outbox_families() -> tuple[GaugeMetricFamily, GaugeMetricFamily]:
    return (
        GaugeMetricFamily(
            "shoptrail_outbox_rows",
            "Events staged in an outbox and not yet relayed to Kafka.",
            labels=["outbox"],
        ),
        GaugeMetricFamily(
            "shoptrail_outbox_oldest_age_seconds",
            "Age of the oldest event staged in an outbox (0 when it is empty).",
            labels=["outbox"],
        ),
    )


class OutboxSampler(PeriodicSampler):
    """Depth and oldest-row age of outbox tables (`shoptrail_outbox_*{outbox}`).

    `engine()` is the service's engine (it may be created after the app is built).
    The oldest row is found through the primary key (rows are relayed in id
    order); the count scans a table that is empty whenever the relay keeps up.
    """

    def __init__(self, engine: Callable[[], AsyncEngine], tables: Iterable[str]) -> None:
        self._engine = engine
        self._tables = tuple(tables)
        super().__init__()

    def empty(self) -> list[Metric]:
        return list(_outbox_families())

    async def sample(self) -> list[Metric]:
        rows, age = _outbox_families()
        for name in self._tables:
            table = name.replace('"', "")  # a name from our own metadata, quoted
            query = text(
                f'SELECT (SELECT count(*) FROM "{table}"), '  # noqa: S608 - not user input
                "coalesce(extract(epoch FROM now() - "
                f'(SELECT created_at FROM "{table}" ORDER BY id LIMIT 1)), 0)'
            )
            async with self._engine().connect() as conn:
                count, oldest = (await conn.execute(query)).one()
            rows.add_metric([name], float(count))
            age.add_metric([name], max(float(oldest), 0.0))
        return [rows, age]


JOB_STATES = ("todo", "doing", "failed", "aborting", "aborted", "cancelled")
"""procrastinate job states worth watching (`succeeded` piles up by design: not counted)."""

_JOB_COUNTS = text(
    "SELECT queue_name, status::text, count(*) FROM procrastinate_jobs "
    "WHERE status::text = ANY(:states) GROUP BY 1, 2"
)
_OLDEST_WAITING = text(
    # Waiting since the job became due: deferred or retried (its last event), or its
    # scheduled time if later. Jobs scheduled for the future are not waiting yet.
    "SELECT j.queue_name, extract(epoch FROM now() - min(greatest(j.scheduled_at, e.at))) "
    "FROM procrastinate_jobs j "
    "CROSS JOIN LATERAL (SELECT max(at) AS at FROM procrastinate_events "
    "WHERE job_id = j.id) e "
    "WHERE j.status = 'todo' AND (j.scheduled_at IS NULL OR j.scheduled_at <= now()) "
    "GROUP BY 1"
)


def _job_families() -> tuple[GaugeMetricFamily, GaugeMetricFamily]:
    return (
        GaugeMetricFamily(
            "shoptrail_jobs",
            "Jobs in the PostgreSQL job queue, by queue and state (todo, doing, failed…).",
            labels=["queue", "state"],
        ),
        GaugeMetricFamily(
            "shoptrail_jobs_oldest_waiting_seconds",
            "How long the oldest due job (todo) has waited for a worker, by queue.",
            labels=["queue"],
        ),
    )


class JobQueueSampler(PeriodicSampler):
    """Depth by state and oldest waiting job of procrastinate's queue (`shoptrail_jobs*`).

    `engine()` is the service's engine (it may be created after the app is built).
    `queues` are always reported (zeros when idle), so an alert on them has a
    series to watch; any other queue found in the table is reported too.
    """

    def __init__(self, engine: Callable[[], AsyncEngine], *, queues: Iterable[str] = ()) -> None:
        self._engine = engine
        self._queues = tuple(queues)
        super().__init__()

    def empty(self) -> list[Metric]:
        return list(_job_families())

    async def sample(self) -> list[Metric]:
        async with self._engine().connect() as conn:
            counts = (await conn.execute(_JOB_COUNTS, {"states": list(JOB_STATES)})).all()
            oldest = (await conn.execute(_OLDEST_WAITING)).all()
        depth: dict[tuple[str, str], int] = {
            (queue, state): 0 for queue in self._queues for state in JOB_STATES
        }
        depth.update({(queue, state): count for queue, state, count in counts})
        waited = dict.fromkeys(self._queues, 0.0)
        waited.update({queue: max(float(age or 0), 0.0) for queue, age in oldest})
        jobs, waiting = _job_families()
        for (queue, state), count in sorted(depth.items()):
            jobs.add_metric([queue, state], float(count))
        for queue, age in sorted(waited.items()):
            waiting.add_metric([queue], age)
        return [jobs, waiting]
