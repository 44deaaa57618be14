"""Liveness, readiness and the failure model's metrics, the same for every process.

`/healthz` is liveness: the process runs and its event loop answers; nothing
else. `/readyz` is a real round trip to each dependency (`checks`), plus the
state of the process's long-lived components (consumers, relays, producers,
workers: `shoptrail.events.health.Health`): a component that has been failing
for longer than a blip makes the process not ready, and says why.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from shoptrail.events.health import Health

Check = Callable[[], Awaitable[bool]]
"""A real round trip to one dependency: True if it answered."""

CHECK_TIMEOUT_SECONDS = 3.0


async def _run(check: Check) -> bool:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
            return await check()
    except Exception:
        return False


async def readiness(
    checks: Mapping[str, Check], components: Iterable[Health]
) -> tuple[bool, dict[str, Any]]:
    """Run every check at once; ready when all answered and no component is failing."""
    names = list(checks)
    results = await asyncio.gather(*(_run(checks[name]) for name in names))
    body: dict[str, Any] = {"checks": dict(zip(names, results, strict=True))}
    states = {health.component: health.report() for health in components}
    if states:
        body["components"] = states
    ready = all(results) and all(state["ready"] for state in states.values())
    body["status"] = "ready" if ready else "unavailable"
    return ready, body


def health_router(
    service: str,
    *,
    checks: Mapping[str, Check],
    components: Callable[[], Iterable[Health]] = tuple,
) -> APIRouter:
    """`GET /healthz` (liveness) and `GET /readyz` (round trips and component states)."""
    router = APIRouter(tags=["operations"])

    @router.get("/healthz")
    async def healthz() -> dict[str, str]:
        """Liveness: the process is up and serving."""
        return {"status": "ok", "service": service}

    @router.get("/readyz", responses={503: {"description": "A dependency is not answering."}})
    async def readyz() -> JSONResponse:
        """Readiness: each dependency answered a real round trip; no component is failing."""
        ready, body = await readiness(checks, components())
        return JSONResponse({"service": service, **body}, status_code=200 if ready else 503)

    return router


KNOWN_COUNTS = ("processed", "dead_lettered", "retried.transient", "retried.unknown", "restarted")
"""Counts the alert rules (deploy/prometheus/alerts.yml) read: always exported, even
before any component counted one, so a rule never watches a name that is not there."""


def _counter_name(what: str) -> str:
    return "shoptrail_" + what.replace(".", "_").replace("-", "_")


class HealthCollector(Collector):
    """Exports components' counts and failing state as Prometheus metrics.

    `shoptrail_<what>_total{component}` for each count (`retried.transient` →
    `shoptrail_retried_transient_total`), `shoptrail_component_failing` (1/0)
    and `shoptrail_component_failing_seconds`.
    """

    def __init__(self, components: Callable[[], Iterable[Health]]) -> None:
        self._components = components

    def collect(self) -> Iterator[Metric]:
        components = list(self._components())
        counters = {
            _counter_name(what): CounterMetricFamily(
                _counter_name(what),
                f"Times a component {what.replace('.', ' ')}.",
                labels=["component"],
            )
            for what in KNOWN_COUNTS
        }
        failing = GaugeMetricFamily(
            "shoptrail_component_failing",
            "1 while the component's work is failing (it retries with backoff).",
            labels=["component"],
        )
        failing_for = GaugeMetricFamily(
            "shoptrail_component_failing_seconds",
            "How long the component's current failing streak has lasted.",
            labels=["component"],
        )
        for health in components:
            failing.add_metric([health.component], 0 if health.failing_since is None else 1)
            failing_for.add_metric([health.component], health.failing_for)
            for what, value in health.counts.items():
                name = _counter_name(what)
                family = counters.get(name)
                if family is None:
                    family = counters[name] = CounterMetricFamily(
                        name, f"Times a component {what.replace('.', ' ')}.", labels=["component"]
                    )
                family.add_metric([health.component], value)
        yield failing
        yield failing_for
        yield from counters.values()


def register_health_metrics(
    registry: CollectorRegistry, components: Callable[[], Iterable[Health]]
) -> None:
    """Add the components' metrics to `registry` (the one the service's `/metrics` serves)."""
    registry.register(HealthCollector(components))
