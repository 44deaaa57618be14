"""Watching an open feed page while entries stream in: what appeared, when, and in what order.

Used by the browser test of a steady stream and by `bench/bench_feed.py`. A
MutationObserver in the page records the moment each row first appears, rows
that appear a second time, duplicates and rows out of the feed's order, and
each change of the "N new entries" bar. The writer commits entries on a fixed
schedule (open loop, as a busy shop does) and notes each one's commit time.
"""

from __future__ import annotations

import asyncio
import re
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from playwright.async_api import Page

from shoptrail.events import Event, EventData, new_event
from shoptrail.events.fulfilment import SyncCompleted, SyncFailed

Log = Callable[..., Awaitable[list[int]]]

WATCH = """() => {
  const list = document.getElementById("feed-entries");
  const bar = document.getElementById("show-new-entries");
  const w = (window.__feedWatch = {
    first: {}, again: [], duplicates: 0, disorder: 0, maxRows: list.children.length, bar: [],
  });
  const before = (a, b) => {
    const at = Number(a.dataset.at) - Number(b.dataset.at);
    return at !== 0 ? at > 0 : Number(a.dataset.entryId) > Number(b.dataset.entryId);
  };
  new MutationObserver((records) => {
    const now = Date.now();
    const removed = new Set();
    for (const r of records) for (const n of r.removedNodes) removed.add(n.dataset?.entryId);
    for (const r of records) {
      for (const n of r.addedNodes) {
        const id = n.dataset?.entryId;
        if (!id) continue;
        if (!(id in w.first)) w.first[id] = now;
        else if (!removed.has(id)) w.again.push(id); // shown before, gone, and back
      }
    }
    const rows = [...list.children];
    w.maxRows = Math.max(w.maxRows, rows.length);
    const ids = new Set();
    rows.forEach((row, i) => {
      if (ids.has(row.dataset.entryId)) w.duplicates++;
      ids.add(row.dataset.entryId);
      if (i > 0 && !before(rows[i - 1], row)) w.disorder++;
    });
  }).observe(list, { childList: true });
  new MutationObserver(() => w.bar.push([Date.now(), bar.textContent])).observe(bar, {
    childList: true, characterData: true, subtree: true,
  });
}"""

BAR_COUNT = re.compile(r"^(\d+) new entr")


def stream_event(n: int) -> Event[EventData]:
    """The n-th entry of a stream: mostly syncs completed, every tenth a failure."""
    data: EventData
    if n % 10 == 9:
        data = SyncFailed(sync_id=f"sync_{n}", provider="Printify", reason=f"stream failure {n}")
    else:
        data = SyncCompleted(sync_id=f"sync_{uuid.uuid4().hex[:8]}", provider="Printify", total=n)
    return new_event(data, source="/feedwatch")


async def write_steadily(
    log: Log, rate: float, seconds: float, tick: float = 0.05
) -> dict[int, float]:
    """Commit `rate` entries a second for `seconds`, on a fixed schedule; id → commit time.

    Each tick commits the entries due by then in one transaction (as the
    consumer commits a batch). A writer that falls behind catches up at once:
    the schedule, not the system, sets the pace.
    """
    total = round(rate * seconds)
    committed: dict[int, float] = {}
    started = time.monotonic()
    sent = 0
    while sent < total:
        due = min(total, int((time.monotonic() - started) * rate) + 1)
        if due > sent:
            ids = await log(*(stream_event(n) for n in range(sent, due)))
            now = time.time()
            committed.update((i, now) for i in ids)
            sent = due
        await asyncio.sleep(max(0.0, started + (sent / rate) - time.monotonic(), tick / 10))
    return committed


def quantile(samples: list[float], q: float) -> float:
    if len(samples) < 2:
        return samples[0] if samples else float("nan")
    return statistics.quantiles(samples, n=100, method="inclusive")[round(q * 100) - 1]


@dataclass(frozen=True)
class Watched:
    """What the page showed of the stream."""

    committed: dict[int, float]
    first: dict[int, float]  # id → when its row first appeared (s since the epoch)
    again: list[int]  # rows that came back after leaving
    duplicates: int  # times two rows of one entry were on the page at once
    disorder: int  # times a row stood above one that comes before it in the feed
    max_rows: int
    bar: list[tuple[float, str]]  # (when, text) of each change of the "new entries" bar

    @property
    def seen(self) -> set[int]:
        return set(self.first) & set(self.committed)

    @property
    def delays(self) -> list[float]:
        """Commit → row, per entry seen."""
        return [self.first[i] - self.committed[i] for i in self.seen]

    def bar_delays(self) -> list[float]:
        """Commit → counted by the bar: the k-th commit against the bar first reaching k."""
        reached: list[float] = []
        for when, text in self.bar:
            match = BAR_COUNT.match(text)
            while match and len(reached) < int(match.group(1)):
                reached.append(when)
        commits = sorted(self.committed.values())
        return [r - c for r, c in zip(reached, commits, strict=False)]

    def bar_count(self) -> int | None:
        for _, text in reversed(self.bar):
            match = BAR_COUNT.match(text)
            return int(match.group(1)) if match else None
        return None


async def start_watching(page: Page) -> None:
    await page.evaluate(WATCH)


async def watched(page: Page, committed: dict[int, float]) -> Watched:
    raw: dict[str, Any] = await page.evaluate("() => window.__feedWatch")
    return Watched(
        committed=committed,
        first={int(k): v / 1000 for k, v in raw["first"].items()},
        again=[int(i) for i in raw["again"]],
        duplicates=raw["duplicates"],
        disorder=raw["disorder"],
        max_rows=raw["maxRows"],
        bar=[(when / 1000, text) for when, text in raw["bar"]],
    )


async def until(check: Callable[[], Awaitable[bool]], deadline_s: float) -> bool:
    """Poll `check` until it holds or the deadline passes (a deadline, not a sleep)."""
    deadline = time.monotonic() + deadline_s
    while not await check():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.2)
    return True
