"""Tests wait on a condition with a deadline, never on a fixed sleep: the machine is shared."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest


async def until(check: Callable[[], bool], what: str, timeout: float = 30) -> None:
    """Return as soon as `check()` holds; fail the test naming `what` after `timeout` s."""
    try:
        async with asyncio.timeout(timeout):
            while not check():  # noqa: ASYNC110 - any condition, not one with an Event
                await asyncio.sleep(0.02)
    except TimeoutError:
        pytest.fail(f"{what}: not within {timeout}s")
