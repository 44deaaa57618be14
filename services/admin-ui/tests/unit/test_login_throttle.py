"""Login throttling: guessers wait longer and longer; the owner never for long."""

from __future__ import annotations

import asyncio

import pytest

from shoptrail.admin_ui.auth.throttle import LoginThrottle, ThrottledError


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def throttle(clock: Clock, **options: float) -> LoginThrottle:
    return LoginThrottle(free_tries=3, clock=clock, **options)  # type: ignore[arg-type]


def test_waits_begin_after_the_free_tries_and_double() -> None:
    clock = Clock()
    limiter = throttle(clock)
    imposed = []
    for _ in range(7):
        limiter.check("admin", "10.0.0.1")
        imposed.append(limiter.failed("admin", "10.0.0.1"))
        clock.now += imposed[-1]  # the guesser waits each wait out
    assert imposed == [0, 0, 0, 1, 2, 4, 8]


def test_a_try_during_the_wait_is_refused_with_how_long_to_wait() -> None:
    clock = Clock()
    limiter = throttle(clock)
    for _ in range(5):
        limiter.failed("admin", "10.0.0.1")
    with pytest.raises(ThrottledError) as wait:
        limiter.check("admin", "10.0.0.1")
    assert wait.value.retry_after_s == 2
    clock.now += 2
    limiter.check("admin", "10.0.0.1")


def test_hammering_the_owners_name_from_everywhere_costs_the_owner_seconds_only() -> None:
    clock = Clock()
    limiter = throttle(clock, max_user_delay_s=30)
    for n in range(5000):
        limiter.failed("admin", f"10.0.{n // 250}.{n % 250}")
    with pytest.raises(ThrottledError) as wait:
        limiter.check("admin", "192.168.1.5")  # the owner, from home
    assert wait.value.retry_after_s <= 30
    clock.now += 30
    limiter.check("admin", "192.168.1.5")


def test_one_address_guessing_many_names_waits_up_to_the_address_cap() -> None:
    clock = Clock()
    limiter = throttle(clock, max_address_delay_s=900)
    for n in range(40):
        limiter.failed(f"user{n}", "10.0.0.1")
    with pytest.raises(ThrottledError) as wait:
        limiter.check("someone-else", "10.0.0.1")
    assert wait.value.retry_after_s == 900


def test_a_success_clears_and_quiet_forgets() -> None:
    clock = Clock()
    limiter = throttle(clock, forget_after_s=3600)
    for _ in range(4):
        limiter.failed("admin", "10.0.0.1")
    clock.now += 1
    limiter.succeeded("admin", "10.0.0.1")
    limiter.check("admin", "10.0.0.1")
    assert limiter.failed("admin", "10.0.0.1") == 0

    for _ in range(5):
        limiter.failed("bob", "10.0.0.2")
    clock.now += 4000
    assert limiter.failed("bob", "10.0.0.2") == 0, "an hour of quiet is a fresh start"


def test_names_are_counted_case_blind_and_memory_is_bounded() -> None:
    clock = Clock()
    limiter = throttle(clock, max_keys=100)
    for _ in range(4):
        limiter.failed("Admin", "10.0.0.1")
    with pytest.raises(ThrottledError):
        limiter.check("ADMIN ", "10.9.9.9")
    for n in range(1000):
        limiter.failed(f"u{n}", f"a{n}")
    assert len(limiter._counters) <= 100


async def test_verifies_run_a_bounded_number_at_once_and_excess_is_refused() -> None:
    limiter = LoginThrottle(max_verifies=2, max_waiting=4)
    running = peak = 0
    release = asyncio.Event()

    async def verify() -> bool:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await release.wait()
        running -= 1
        return False

    tasks = [asyncio.create_task(limiter.verify(verify)) for _ in range(4)]
    await asyncio.sleep(0)
    with pytest.raises(ThrottledError):
        await limiter.verify(verify)
    release.set()
    assert await asyncio.gather(*tasks) == [False] * 4
    assert peak == 2
