"""One browser connection: what it wants, and a sender that never lets it stall others."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

Send = Callable[[str], Awaitable[None]]


@dataclass(frozen=True)
class Interest:
    """Badge always; feed entries, or one order's entries, if asked for."""

    feed: bool = False
    order_id: str | None = None

    def wants(self, entry: dict[str, Any]) -> bool:
        if entry["level"] == "debug":
            return False
        if self.feed:
            return True
        return self.order_id is not None and entry["order_id"] == self.order_id


@dataclass(eq=False)  # one per connection: compared and hashed by identity
class Client:
    """Pending updates for one connection, drained by its own sender task.

    The hub only calls `offer()`, which never blocks: a slow browser's updates
    pile up here, bounded by `max_pending`; past it the client is told to
    reload instead. Pushes are coalesced: entries go out at most every
    `entry_gap` seconds, badge-only changes at most every `badge_gap`.
    """

    send: Send
    interest: Interest
    seq: int = 0
    max_pending: int = 500
    entry_gap: float = 0.05
    badge_gap: float = 0.25
    send_timeout: float = 10.0
    _entries: dict[int, str] = field(default_factory=dict)
    _count: int | None = None
    _reload: bool = False
    _sent_count: int | None = None
    _wake: asyncio.Event = field(default_factory=asyncio.Event)
    _last_send: float = 0.0

    def offer(self, seq: int, count: int, entries: list[tuple[dict[str, Any], str]]) -> None:
        """Queue a change (entries come with their JSON already encoded, once for all)."""
        if seq <= self.seq:
            return
        self.seq = seq
        self._count = count
        for entry, encoded in entries:
            if self.interest.wants(entry):
                self._entries[entry["id"]] = encoded  # a changed row replaces its older version
        if len(self._entries) > self.max_pending:
            self.reload(seq, count)
        self._wake.set()

    def reload(self, seq: int, count: int) -> None:
        self.seq, self._count, self._reload = max(seq, self.seq), count, True
        self._entries.clear()
        self._wake.set()

    async def run(self) -> None:
        """Send pending updates until the connection ends (raises when it does)."""
        while True:
            await self._wake.wait()
            self._wake.clear()
            gap = self.entry_gap if (self._entries or self._reload) else self.badge_gap
            wait = self._last_send + gap - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            message = self._take()
            if message is not None:
                await asyncio.wait_for(self.send(message), self.send_timeout)
                self._last_send = time.monotonic()

    def _take(self) -> str | None:
        head = f'"seq":{self.seq},"count":{self._count}'
        if self._reload:
            self._reload = False
            self._sent_count = self._count
            return '{"type":"reload",' + head + "}"
        if self._entries:
            body = ",".join(self._entries.values())
            self._entries.clear()
            self._sent_count = self._count
            return '{"type":"entries",' + head + ',"entries":[' + body + "]}"
        if self._count is not None and self._count != self._sent_count:
            self._sent_count = self._count
            return '{"type":"badge",' + head + "}"
        return None

    def hello(self, seq: int, count: int) -> str:
        self.seq, self._count, self._sent_count = seq, count, count
        return json.dumps({"type": "hello", "seq": seq, "count": count})
