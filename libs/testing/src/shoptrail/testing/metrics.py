"""Waiting for a metric in a registry: sampled gauges move on their own timer."""

from __future__ import annotations

import asyncio

from prometheus_client import CollectorRegistry


async def until_sampled(
    registry: CollectorRegistry,
    name: str,
    labels: dict[str, str],
    expected: float,
    *,
    deadline: float = 60.0,
) -> None:
    """Poll the exposition until `name{labels}` is `expected`; fail at `deadline` seconds
    (generous by default: the machine running the tests is shared and loaded)."""
    seen: float | None = None
    try:
        async with asyncio.timeout(deadline):
            while (seen := registry.get_sample_value(name, labels)) != expected:  # noqa: ASYNC110 - no event to wait on: a sampler fills it on its own timer
                await asyncio.sleep(0.05)
    except TimeoutError:
        raise AssertionError(
            f"{name}{labels} was {seen}, not {expected}, after {deadline}s"
        ) from None
