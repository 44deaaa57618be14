"""One per replica: hears committed changes from any replica and fans them out."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from typing import Any

import asyncpg

from shoptrail.activity.adapters.changes import Change, ChangeLog
from shoptrail.activity.entrypoints.schemas import LiveEntryOut
from shoptrail.activity.realtime.client import Client, Frame

log = logging.getLogger(__name__)
CHANNEL = "activity_changes"


class Hub:
    """LISTENs for change numbers; reads each change once; offers it to every client.

    A notification only wakes the hub: what it sends is read from the change
    log by sequence number, so a missed notification (a dropped listener
    connection) is caught up by the next one or by the periodic poll.

    Every hub is also a sequencer (migration 0011): writers record their changes
    un-numbered, and the hub numbers them when this replica's writes commit
    (`kick`) and every `number_every` seconds, whoever wrote them (another
    process, a replica killed between its commit and its kick). Numbering
    NOTIFYs every replica's hub. On the same timer it folds the count deltas.
    """

    def __init__(
        self,
        changes: ChangeLog,
        dsn: str,
        *,
        catch_up_limit: int = 500,
        poll: float = 5.0,
        frame_interval: float = 0.05,
        number_every: float = 1.0,
    ) -> None:
        self._changes = changes
        self._dsn = dsn
        self._catch_up_limit = catch_up_limit
        self._poll = poll
        self._frame_interval = frame_interval
        self._number_every = number_every
        self._kicked = False  # this replica committed a change the sequencer has not seen
        self._next_timer = 0.0
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self.clients: set[Client] = set()
        self.seq = 0
        self.count = 0
        self._count_current = False  # followed only while someone is connected
        self._notified = 0  # the highest change number a notification announced

    async def start(self) -> None:
        self._stopping = False
        self.seq = await self._changes.latest()
        self._task = asyncio.create_task(self._listen(), name="activity-hub")

    async def stop(self) -> None:
        self._stopping = True  # even a cancel lost inside a library ends the loop
        self._wake.set()
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _listen(self) -> None:
        while not self._stopping:
            try:
                conn = await asyncpg.connect(self._dsn)
            except (OSError, asyncpg.PostgresError):
                log.warning("live updates: cannot reach PostgreSQL; retrying", exc_info=True)
                await asyncio.sleep(1)
                continue
            try:
                await conn.add_listener(CHANNEL, self._on_notify)
                while not conn.is_closed() and not self._stopping:
                    started = time.monotonic()
                    await self._drain()
                    now = time.monotonic()
                    for client in list(self.clients):
                        client.check_stalled(now)
                    # At most one frame per interval: a storm of commits becomes one message.
                    # The time the frame took to go out counts towards the interval.
                    await asyncio.sleep(max(0.0, started + self._frame_interval - now))
                    # asyncio.timeout, not wait_for: on 3.11 wait_for loses a cancel that
                    # arrives as the wake-up does, and stop() would wait forever.
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(min(self._poll, self._number_every)):
                            await self._wake.wait()
                    self._wake.clear()
            except (OSError, asyncpg.PostgresError):
                log.warning("live updates: listener connection lost; reconnecting", exc_info=True)
            finally:
                with contextlib.suppress(Exception):
                    await conn.close()

    def kick(self) -> None:
        """A change of this replica's has committed: number it now, not on the timer."""
        self._kicked = True
        self._wake.set()

    def _on_notify(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        with contextlib.suppress(ValueError):
            self._notified = max(self._notified, int(payload))
        self._wake.set()

    async def hello(self) -> tuple[int, int]:
        """The change number and needs-attention count a newly connected client starts from."""
        if not self._count_current:
            self.count = await self._changes.attention_count()
            self._count_current = True
        return self.seq, self.count

    async def _drain(self) -> None:
        now = time.monotonic()
        timer = now >= self._next_timer
        if self._kicked or timer:
            self._kicked = False
            # Numbering wakes every hub, this one included, with the new high mark.
            self._notified = max(self._notified, await self._changes.number())
        if timer:
            self._next_timer = now + self._number_every
            await self._changes.fold_counts()
        if not self.clients:
            # Nobody to tell (a replica that only consumes): follow the numbering from the
            # notifications and the sequencer's answers, and read nothing.
            self._count_current = False
            self.seq = max(self.seq, self._notified)
            return
        while changes := await self._changes.since(self.seq, limit=5000):
            await self._broadcast(changes)

    async def _broadcast(self, changes: list[Change]) -> None:
        seq = changes[-1].seq
        self.count = await self._changes.attention_count()
        self._count_current = True
        if any(c.kind == "reload" for c in changes):
            for client in list(self.clients):
                client.reload(seq, self.count)
        else:
            # Read and encode entries only if someone wants them: badge-only pages
            # (and a replica nobody is connected to) cost one count per frame.
            wanted = any(c.interest.feed or c.interest.order_id for c in self.clients)
            ids = sorted({i for c in changes for i in c.entry_ids}) if wanted else []
            frame = Frame(seq, self.count, _encode(await self._changes.entries(ids)))
            for client in list(self.clients):
                client.offer(frame)
        self.seq = seq

    async def catch_up(self, client: Client, since: int) -> None:
        """Offer a reconnecting client what it missed since `since`, or tell it to reload."""
        if since >= self.seq:
            return
        oldest = await self._changes.oldest()
        missed = await self._changes.since(since, limit=self._catch_up_limit + 1)
        ids = {i for c in missed for i in c.entry_ids}
        too_old = oldest is None or since < oldest - 1
        too_many = len(missed) > self._catch_up_limit or len(ids) > self._catch_up_limit
        if too_old or too_many or any(c.kind == "reload" for c in missed):
            client.reload(self.seq, self.count)
        else:
            entries = _encode(await self._changes.entries(sorted(ids)))
            client.offer(Frame(self.seq, self.count, entries))


def _encode(entries: list[dict[str, Any]]) -> list[tuple[dict[str, Any], str]]:
    """Each entry as JSON once, shared by every client's message.

    ASCII only (non-ASCII escaped as \\uXXXX, which every JSON parser reads back):
    the server encodes each message to UTF-8 once per client, and for an ASCII
    string that is a plain copy instead of a per-character walk ("—", "£").
    """
    return [
        (
            e,
            json.dumps(
                LiveEntryOut.model_validate(e).model_dump(mode="json"), separators=(",", ":")
            ),
        )
        for e in entries
    ]
