"""A consumer process killed mid-batch loses nothing and doubles nothing."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from shoptrail.events import new_event
from shoptrail.events.fulfilment import OrderSubmissionFailed
from shoptrail.testing import free_port

from ..conftest import logged

pytestmark = [pytest.mark.kafka, pytest.mark.postgres, pytest.mark.slow, pytest.mark.timeout(600)]

Eventually = Callable[..., Awaitable[Any]]


async def test_sigkill_mid_batch_then_restart_logs_every_event_exactly_once(
    namespace: Any, engine: AsyncEngine, database_url: str, eventually: Eventually
) -> None:
    total = 4000
    events = [
        new_event(
            OrderSubmissionFailed(
                order_id=f"ord_{n % 50}", provider="Printify", reason="x", attempt=1, max_attempts=3
            ),
            source="/t",
        )
        for n in range(total)
    ]
    await namespace.publish(events)
    env = os.environ | {
        "ACTIVITY_ENVIRONMENT": "test",
        "ACTIVITY_DATABASE_URL": database_url,
        "ACTIVITY_KAFKA_BOOTSTRAP": namespace.bootstrap,
        "ACTIVITY_TOPIC_PATTERN": namespace.pattern,
        "ACTIVITY_GROUP_ID": f"{namespace.name}-crash",
        "ACTIVITY_BATCH_MAX_RECORDS": "40",
        "ACTIVITY_PORT": str(free_port()),
    }
    command = ["shoptrail-activity", "serve"]

    victim = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        await eventually(lambda: _between(engine, 200, total), timeout=180)
    finally:
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait()
    rows_at_kill, _ = await logged(engine)
    assert rows_at_kill < total, "the consumer finished before it could be killed"

    survivor = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        await eventually(lambda: _at_least(engine, total), timeout=240)
        await asyncio.sleep(1)  # anything doubled would have landed by now
    finally:
        survivor.terminate()
        survivor.wait(timeout=30)
    assert await logged(engine) == (total, total)


async def _between(engine: AsyncEngine, low: int, high: int) -> bool:
    rows, _ = await logged(engine)
    return low <= rows < high


async def _at_least(engine: AsyncEngine, n: int) -> bool:
    rows, _ = await logged(engine)
    return rows >= n
