"""Tests wait on a condition with a deadline, never on a fixed sleep: the machine is shared."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import pytest

T = TypeVar("T")


async def until(check: Callable[[], bool], what: str, timeout: float = 120) -> None:
    """Return as soon as `check()` holds; fail the test naming `what` after `timeout` s."""
    try:
        async with asyncio.timeout(timeout):
            while not check():  # noqa: ASYNC110 - any condition, not one with an Event
                await asyncio.sleep(0.02)
    except TimeoutError:
        pytest.fail(f"{what}: not within {timeout}s")


async def eventually(
    check: Callable[[], Awaitable[T]], what: str, timeout: float = 180, every: float = 0.1
) -> T:
    """`until` for a check that does I/O: poll it, return its first truthy value."""
    try:
        async with asyncio.timeout(timeout):
            while not (value := await check()):  # noqa: ASYNC110 - polls I/O, no Event to await
                await asyncio.sleep(every)  # a poll interval under a deadline, not a wait
            return value
    except TimeoutError:
        pytest.fail(f"{what}: not within {timeout}s")
