"""A process's health door (`/readyz`, `/metrics`), polled until it says what a test waits for.

async with HealthDoor(port, component="worker:notifier-worker") as door:
    await door.wait_for(lambda status, body: status == 200, timeout=90)
    assert await door.restarts() >= 1
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from types import TracebackType
from typing import Any, Self

import httpx
from prometheus_client.parser import text_string_to_metric_families

ReadyCheck = Callable[[int, dict[str, Any]], bool]


class HealthDoor:
    """`/readyz` and `/metrics` of a process listening on 127.0.0.1:`port`."""

    def __init__(self, port: int, *, component: str) -> None:
        self.component = component
        self.http = httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10)

    async def readiness(self) -> tuple[int, dict[str, Any]]:
        response = await self.http.get("/readyz")
        return response.status_code, response.json()

    async def restarts(self) -> float:
        """How often the process started `component` again (`shoptrail_restarted_total`)."""
        text = (await self.http.get("/metrics")).text
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if (
                    sample.name == "shoptrail_restarted_total"
                    and sample.labels.get("component") == self.component
                ):
                    return sample.value
        return 0.0

    async def wait_for(self, check: ReadyCheck, timeout: float) -> dict[str, Any]:
        """Poll `/readyz` until `check(status, body)`; the body that satisfied it.

        A door not answering yet (the process still starting, or restarting)
        is polled again, as a load balancer would.
        """
        async with asyncio.timeout(timeout):
            while True:
                with contextlib.suppress(httpx.HTTPError):
                    status, body = await self.readiness()
                    if check(status, body):
                        return body
                await asyncio.sleep(0.2)

    async def aclose(self) -> None:
        await self.http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
