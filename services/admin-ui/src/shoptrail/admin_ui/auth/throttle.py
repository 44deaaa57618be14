"""Login throttling: wrong passwords cost the guesser time, not the owner their account.

Each failed login adds one to two counters, one for the user name tried and
one for the client's address. Past `free_tries` failures a counter imposes an
exponentially growing wait (1 s, 2 s, 4 s …) before the next try is even
checked, so a guess during the wait is refused at once, without an argon2
verify (64 MiB and tens of milliseconds each). The address wait grows to
`max_address_delay_s` (a quarter of an hour); the user-name wait stops at
`max_user_delay_s` (half a minute), so someone hammering the owner's name
from many addresses slows the owner's login by seconds, never locks it. A
success clears both counters; a counter forgets itself once its wait and a
quiet `forget_after_s` have passed.

Verifies themselves run in worker threads, at most `max_verifies` at once;
a login arriving while `max_waiting` others already queue is told to try
again rather than queued. Counters live in this process: behind several
admin replicas each keeps its own (an attacker's budget grows with the
replicas; the owner's worst wait does not).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


class ThrottledError(Exception):
    """Not now: try again in `retry_after_s` seconds."""

    def __init__(self, retry_after_s: float) -> None:
        self.retry_after_s = max(1, math.ceil(retry_after_s))
        super().__init__(f"try again in {self.retry_after_s} s")


@dataclass
class _Counter:
    failures: int = 0
    wait_until: float = 0.0
    last_failure: float = 0.0


class LoginThrottle:
    """Failure counters per user name and per address, and the verify bound."""

    def __init__(
        self,
        *,
        free_tries: int = 5,
        base_delay_s: float = 1.0,
        max_user_delay_s: float = 30.0,
        max_address_delay_s: float = 900.0,
        forget_after_s: float = 3600.0,
        max_verifies: int = 2,
        max_waiting: int = 16,
        max_keys: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.free_tries = free_tries
        self.base_delay_s = base_delay_s
        self.max_delay_s = {"user": max_user_delay_s, "address": max_address_delay_s}
        self.forget_after_s = forget_after_s
        self.max_waiting = max_waiting
        self.max_keys = max_keys
        self.clock = clock
        self._counters: OrderedDict[tuple[str, str], _Counter] = OrderedDict()
        self._verifies = asyncio.Semaphore(max_verifies)
        self._waiting = 0

    @staticmethod
    def _keys(username: str, address: str) -> tuple[tuple[str, str], tuple[str, str]]:
        return ("user", username.strip().lower()), ("address", address)

    def check(self, username: str, address: str) -> None:
        """ThrottledError while either counter still imposes a wait."""
        now = self.clock()
        waits = [
            counter.wait_until - now
            for key in self._keys(username, address)
            if (counter := self._counters.get(key)) is not None
        ]
        longest = max(waits, default=0.0)
        if longest > 0:
            raise ThrottledError(longest)

    def failed(self, username: str, address: str) -> float:
        """Count a wrong password; the wait it imposes now (0 within the free tries)."""
        now = self.clock()
        imposed = 0.0
        for key in self._keys(username, address):
            counter = self._counters.pop(key, None) or _Counter()
            if now > max(counter.wait_until, counter.last_failure) + self.forget_after_s:
                counter = _Counter()  # quiet for long enough: a fresh start
            counter.failures += 1
            counter.last_failure = now
            over = counter.failures - self.free_tries
            if over > 0:
                doubling = 2.0 ** min(over - 1, 40)  # beyond 2^40 the cap has long won
                delay = min(self.base_delay_s * doubling, self.max_delay_s[key[0]])
                counter.wait_until = now + delay
                imposed = max(imposed, delay)
            self._counters[key] = counter  # most recent last
        while len(self._counters) > self.max_keys:
            self._counters.popitem(last=False)
        return imposed

    def succeeded(self, username: str, address: str) -> None:
        for key in self._keys(username, address):
            self._counters.pop(key, None)

    async def verify(self, run: Callable[[], Awaitable[T]]) -> T:
        """Run one password verify within the concurrency bound (ThrottledError if too busy)."""
        if self._waiting >= self.max_waiting:
            raise ThrottledError(1)
        self._waiting += 1
        try:
            async with self._verifies:
                return await run()
        finally:
            self._waiting -= 1
