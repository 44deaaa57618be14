"""One browser connection: what it wants, and a sender that never lets it stall others."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from shoptrail.activity.realtime.wire import RawSocket, text_frame

Send = Callable[[str], Awaitable[None]]
Encoded = tuple[dict[str, Any], str]


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


class Frame:
    """One broadcast: the change's entries, and each interest's message built once."""

    def __init__(self, seq: int, count: int, entries: list[Encoded]) -> None:
        self.seq, self.count, self.entries = seq, count, entries
        self.at = time.monotonic()
        self._messages: dict[Interest, str | None] = {}
        self._frames: dict[Interest, bytes | None] = {}
        self._badge: bytes | None = None

    def for_interest(self, interest: Interest) -> list[Encoded]:
        return [(e, text) for e, text in self.entries if interest.wants(e)]

    def message(self, interest: Interest) -> str | None:
        """The shared message for clients that are in sync (None: only the badge changed)."""
        if interest not in self._messages:
            wanted = self.for_interest(interest)
            self._messages[interest] = (
                entries_message(self.seq, self.count, [text for _, text in wanted])
                if wanted
                else None
            )
        return self._messages[interest]

    def frame(self, interest: Interest) -> bytes | None:
        """`message(interest)` as the WebSocket frame every socket in sync is written."""
        try:
            return self._frames[interest]
        except KeyError:
            message = self.message(interest)
            frame = self._frames[interest] = text_frame(message) if message else None
            return frame

    def badge_frame(self) -> bytes:
        if self._badge is None:
            self._badge = text_frame(badge_message(self.seq, self.count))
        return self._badge


def entries_message(seq: int, count: int, encoded: list[str]) -> str:
    return f'{{"type":"entries","seq":{seq},"count":{count},"entries":[{",".join(encoded)}]}}'


def badge_message(seq: int, count: int) -> str:
    return f'{{"type":"badge","seq":{seq},"count":{count}}}'


@dataclass(eq=False)  # one per connection: compared and hashed by identity
class Client:
    """Pending updates for one connection, drained by its own sender task.

    The hub only calls `offer()`, which never blocks. A client in sync whose
    socket keeps up (`raw`, see wire.py) is written the frame's shared bytes
    there and then: no task wake-up and no per-client encoding. Otherwise the
    frame's shared message waits for the client's sender; a slow client merges
    what piles up (a changed row replaces its older version), bounded by
    `max_pending`, past which it is told to reload. Badge-only changes go out
    at most every `badge_gap` seconds; the hub already spaces frames.
    """

    send: Send
    interest: Interest
    raw: RawSocket | None = None
    seq: int = 0
    max_pending: int = 500
    badge_gap: float = 0.25
    send_timeout: float = 10.0
    _ready: str | None = None
    _ready_frame: Frame | None = None
    _entries: dict[int, str] = field(default_factory=dict)
    _count: int | None = None
    _sent_count: int | None = None
    _reload: bool = False
    _wake: asyncio.Event = field(default_factory=asyncio.Event)
    _last_send: float = 0.0
    _sending_since: float | None = None
    _task: asyncio.Task[None] | None = None
    _stalled: bool = False

    def offer(self, frame: Frame) -> None:
        """Send a broadcast to this client now if it keeps up, else queue it for its sender."""
        if frame.seq <= self.seq:
            return
        self.seq, self._count = frame.seq, frame.count
        raw = self.raw
        if (
            raw is not None
            and self._task is not None  # its hello and catch-up are out
            and self._sending_since is None
            and self._ready is None
            and not (self._entries or self._reload)
            and raw.ready
        ):
            wire = frame.frame(self.interest)
            if wire is None and frame.count != self._sent_count:
                if frame.at - self._last_send < self.badge_gap:
                    self._wake.set()  # its sender sends the badge when the gap is up
                    return
                wire = frame.badge_frame()
            if wire is not None:
                raw.write(wire)
                self._sent_count, self._last_send = frame.count, frame.at
            return
        if not self._reload:
            if self._ready is None and not self._entries:
                self._ready = frame.message(self.interest)
                self._ready_frame = frame if self._ready is not None else None
            else:
                self._merge_ready()
                for entry, text in frame.for_interest(self.interest):
                    self._entries[entry["id"]] = text
            if len(self._entries) > self.max_pending:
                self.reload(frame.seq, frame.count)
        self._wake.set()

    def reload(self, seq: int, count: int) -> None:
        self.seq, self._count, self._reload = max(seq, self.seq), count, True
        self._ready, self._ready_frame = None, None
        self._entries.clear()
        self._wake.set()

    async def run(self) -> None:
        """Send pending updates until the connection ends (raises when it does).

        Raises TimeoutError when the hub finds a send stuck for `send_timeout`
        (see `check_stalled`): one watchdog pass per frame for every client
        costs far less than a timer per send.
        """
        self._task = asyncio.current_task()
        try:
            while True:
                await self._wake.wait()
                self._wake.clear()
                if not (self._ready or self._entries or self._reload):
                    wait = self._last_send + self.badge_gap - time.monotonic()
                    if wait > 0:
                        await asyncio.sleep(wait)
                self._sending_since = time.monotonic()
                if self.raw is not None:
                    await self.raw.writable()  # what piles up meanwhile is merged
                message = self._take()
                if message is not None:
                    if self.raw is not None:
                        self.raw.write(text_frame(message))
                    else:
                        await self.send(message)
                    self._last_send = time.monotonic()
                self._sending_since = None
        except asyncio.CancelledError:
            if not self._stalled:
                raise
            raise TimeoutError(f"a send took longer than {self.send_timeout}s") from None

    def check_stalled(self, now: float) -> bool:
        """End this client's sender if a send has been stuck past `send_timeout`."""
        since = self._sending_since
        if since is None or now - since <= self.send_timeout or self._stalled:
            return False
        self._stalled = True
        if self._task is not None:
            self._task.cancel()
        return True

    def _merge_ready(self) -> None:
        """A shared message not yet sent is folded back into the pending entries.

        The frame's entries are already encoded: merging costs no JSON work.
        """
        if self._ready_frame is not None:
            for entry, text in self._ready_frame.for_interest(self.interest):
                self._entries[entry["id"]] = text
        self._ready, self._ready_frame = None, None

    def _take(self) -> str | None:
        if self._reload:
            self._reload = False
            self._sent_count = self._count
            return f'{{"type":"reload","seq":{self.seq},"count":{self._count}}}'
        if self._ready is not None:
            message, self._ready, self._ready_frame = self._ready, None, None
            self._sent_count = self._count
            return message
        if self._entries:
            message = entries_message(self.seq, self._count or 0, list(self._entries.values()))
            self._entries.clear()
            self._sent_count = self._count
            return message
        if self._count is not None and self._count != self._sent_count:
            self._sent_count = self._count
            return badge_message(self.seq, self._count)
        return None

    def hello(self, seq: int, count: int) -> str:
        self.seq, self._count, self._sent_count = seq, count, count
        return json.dumps({"type": "hello", "seq": seq, "count": count})
