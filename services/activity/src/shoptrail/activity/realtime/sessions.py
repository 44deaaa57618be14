"""Live sockets end with their session: logout, expiry or idleness closes them within a second.

Each socket opened with a session-bound token registers here. Twice a second
the watch asks PostgreSQL which of the sessions with sockets on this replica
have ended, and tells those sockets to close. Every replica runs its own
watch over the same table, so a logout on any replica reaches them all.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict

from shoptrail.activity.adapters.sessions import SessionStore
from shoptrail.kit.logging import exception_fields

log = logging.getLogger(__name__)


class TooManySocketsError(Exception):
    """This session already has its share of sockets on this replica."""


class SessionWatch:
    def __init__(
        self, store: SessionStore, *, interval_s: float = 0.5, max_per_session: int = 10
    ) -> None:
        self.store = store
        self.interval_s = interval_s
        self.max_per_session = max_per_session
        self._ended: dict[bytes, set[asyncio.Event]] = defaultdict(set)
        self._task: asyncio.Task[None] | None = None
        self._failing = False

    def register(self, session: bytes) -> asyncio.Event:
        """An event set once `session` ends (TooManySocketsError past the cap)."""
        events = self._ended[session]
        if len(events) >= self.max_per_session:
            raise TooManySocketsError(f"at most {self.max_per_session} live sockets per session")
        ended = asyncio.Event()
        events.add(ended)
        return ended

    def unregister(self, session: bytes, ended: asyncio.Event) -> None:
        events = self._ended.get(session)
        if events is not None:
            events.discard(ended)
            if not events:
                del self._ended[session]

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="session-watch")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def check(self) -> None:
        """Close the sockets of every session that has ended (one query)."""
        if not self._ended:
            return
        for session in await self.store.ended_among(list(self._ended)):
            for ended in self._ended.get(session, ()):
                ended.set()

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            try:
                await self.check()
            except Exception as exc:  # the database away: sockets stay until it answers
                if not self._failing:  # once per outage, not twice a second
                    log.warning("session watch cannot read sessions", extra=exception_fields(exc))
                self._failing = True
            else:
                if self._failing:
                    log.info("session watch reads sessions again")
                self._failing = False
