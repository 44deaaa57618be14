"""How much work ingest takes on: answer fast, or say 503 at once — never queue.

Stripe, Printify and Printful send webhooks on their own schedule (an open
loop) and send again after a timeout or a non-2xx. An ingest that queues
requests past its capacity answers minutes late, and every late answer comes
back as a retry: the queue multiplies itself. So each webhook is admitted or
refused at the door (`Admission`, an ASGI middleware on `/webhooks/…`):

- **waiting at the door**: connections the kernel has completed but the
  process has not yet taken (the listening socket's accept queue). When the
  process gets less CPU than the arrivals need (on one machine the rest of
  the shop takes its share), this is where requests wait, invisible to
  everything inside the process: at 300 webhooks/s on two cores 1,300
  waited there, 5-19 s, while the loop ran on time and a dozen were in
  flight. Past `max_waiting`, each webhook taken is answered 503 at once
  (a refusal costs a fraction of a webhook), so the queue drains;
- **in flight**: at most `max_in_flight` webhooks are being handled at once
  (most of a webhook's life is the wait for Kafka's acknowledgement); one more
  is answered 503 at once;
- **a behind event loop**: when the process has been running later than
  `max_loop_lag` all through the last second, requests are waiting in the
  loop before any code of ours sees them; new ones are answered 503 at once
  (a single slow step, or a process that just woke, is not "behind");
- **a deadline**: a webhook still not answered after `deadline` seconds is
  answered 503 (well inside the senders' own timeouts).

Every refusal is a 503 with `Retry-After`, and nothing is half-published: a
refused webhook published nothing, and one cut off by its deadline leaves its
Kafka send to finish (the sink shields it); the sender's retry carries the
same event id, which the sink and every consumer keep once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import struct
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Literal

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shoptrail.ingest.metrics import IngestMetrics

ShedReason = Literal["waiting", "in_flight", "loop_lag", "deadline"]


class Door:
    """The listening socket's accept queue: connections waiting for the process to take them.

    Linux reports it for a listening socket in `TCP_INFO` (`tcpi_unacked` is
    the queue's length, `tcpi_sacked` its bound); elsewhere it is unknown.
    """

    _TCP_INFO = getattr(socket, "TCP_INFO", None)
    _UNACKED = struct.Struct("=I")
    _OFFSET = 24  # 8 one-byte fields, then rto, ato, snd_mss, rcv_mss, unacked (u32 each)

    def __init__(self, listening: socket.socket) -> None:
        self._socket = listening

    def waiting(self) -> int | None:
        if self._TCP_INFO is None:
            return None
        try:
            info = self._socket.getsockopt(socket.IPPROTO_TCP, self._TCP_INFO, 104)
        except OSError:
            return None
        return int(self._UNACKED.unpack_from(info, self._OFFSET)[0])


@dataclass
class LoopLag:
    """How late this process's event loop runs, sampled every `interval` seconds.

    `behind()` is the smallest lateness seen over the last `window` seconds: a
    loop that is behind all the time has requests waiting in it; one slow step
    (a large body parsed, a garbage collection) raises one sample, not the
    minimum.
    """

    interval: float = 0.05
    window: float = 1.0
    clock: Callable[[], float] = time.monotonic
    _samples: deque[tuple[float, float]] = field(default_factory=deque)

    def record(self, at: float, lateness: float) -> None:
        """A sample: at `at`, the sampler woke `lateness` seconds after it was due."""
        self._samples.append((at, lateness))
        while len(self._samples) > 2 and self._samples[0][0] < at - self.window:
            self._samples.popleft()

    def behind(self) -> float:
        """Seconds the loop has run late throughout the last window (0 if not known yet)."""
        if len(self._samples) < 2:
            return 0.0
        since = self.clock() - self.window
        recent = [late for at, late in self._samples if at >= since]
        # Two samples at least, however old: a loop so far behind that it sampled once
        # in the window is not "fine" for want of evidence.
        return min(recent if len(recent) >= 2 else [late for _, late in self._samples][-2:])

    async def run(self, report: Callable[[float], None] = lambda behind: None) -> None:
        """Sample for ever (a task of the app's lifespan); `report` hears `behind()` once
        a window."""
        reported = self.clock()
        while True:
            due = self.clock() + self.interval
            await asyncio.sleep(self.interval)
            now = self.clock()
            self.record(now, max(0.0, now - due))
            if now - reported >= self.window:
                report(self.behind())
                reported = now


@dataclass
class Admission:
    """The limits (`INGEST_MAX_WAITING`, `INGEST_MAX_IN_FLIGHT`,
    `INGEST_MAX_LOOP_LAG_SECONDS`, `INGEST_DEADLINE_SECONDS`), what is in flight
    now, the door and the loop's lag."""

    max_in_flight: int
    max_waiting: int
    deadline: float
    max_loop_lag: float
    """0 turns the loop-lag check off."""
    retry_after: int
    metrics: IngestMetrics
    door: Door | None = None
    """The server's listening socket, when the app knows it (`shoptrail-ingest serve`)."""
    lag: LoopLag = field(default_factory=LoopLag)
    in_flight: int = 0

    def refusal(self) -> ShedReason | None:
        """Why a webhook arriving now is refused, or None to take it."""
        if self.door is not None and (self.door.waiting() or 0) > self.max_waiting:
            return "waiting"
        if self.in_flight >= self.max_in_flight:
            return "in_flight"
        if self.max_loop_lag > 0 and self.lag.behind() > self.max_loop_lag:
            return "loop_lag"
        return None

    @contextlib.contextmanager
    def taken(self) -> Iterator[None]:
        self.in_flight += 1
        self.metrics.in_flight.set(self.in_flight)
        try:
            yield
        finally:
            self.in_flight -= 1
            self.metrics.in_flight.set(self.in_flight)

    def shed(self, reason: ShedReason) -> None:
        self.metrics.shed.labels(reason).inc()

    @contextlib.asynccontextmanager
    async def sampling(self) -> AsyncIterator[None]:
        """Sample the loop's lag while the app runs (its lifespan)."""
        task = asyncio.create_task(self.lag.run(self.metrics.loop_lag.set), name="ingest-loop-lag")
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


DETAIL = {
    "waiting": "more webhooks are waiting for ingest than it takes in time",
    "in_flight": "ingest is handling as many webhooks as it takes at once",
    "loop_lag": "ingest is running behind",
    "deadline": "the webhook was not handled within ingest's deadline",
}


class AdmissionMiddleware:
    """ASGI middleware applying `Admission` to every `/webhooks/` request (see module)."""

    def __init__(self, app: ASGIApp, *, admission: Admission, prefix: str = "/webhooks/") -> None:
        self.app = app
        self.admission = admission
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(self.prefix):
            await self.app(scope, receive, send)
            return
        admission = self.admission
        if (reason := admission.refusal()) is not None:
            await self._refuse(reason, send)
            return
        started = False

        async def tracking(message: Message) -> None:
            nonlocal started
            started = True
            await send(message)

        with admission.taken():
            try:
                async with asyncio.timeout(admission.deadline):
                    await self.app(scope, receive, tracking)
            except TimeoutError:
                if started:
                    raise  # the answer was on its way: nothing else can be said
                await self._refuse("deadline", send)

    async def _refuse(self, reason: ShedReason, send: Send) -> None:
        self.admission.shed(reason)
        body = json.dumps({"error": "overloaded", "detail": DETAIL[reason]}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 503,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"retry-after", str(self.admission.retry_after).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
