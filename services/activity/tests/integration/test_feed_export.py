"""The feed as CSV: what the filters select, streamed in batches, formulas defused; date filters."""

from __future__ import annotations

import csv
import io
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from shoptrail.activity.adapters.export import FeedExport
from shoptrail.activity.adapters.store import PostgresLogStore
from shoptrail.activity.domain.entries import entry_from_event
from shoptrail.activity.domain.feed import FeedFilter
from shoptrail.activity.entrypoints.export_api import HEADER, csv_chunks
from shoptrail.events import Event, EventData, new_event
from shoptrail.events.fulfilment import OrderSubmissionFailed, SyncCompleted
from shoptrail.events.ingest import OrderCreated

pytestmark = pytest.mark.postgres

Log = Callable[..., Awaitable[list[int]]]
T0 = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)


def ev(data: EventData, seconds: float) -> Event[EventData]:
    return new_event(data, source="/tests", time=T0 + timedelta(seconds=seconds))


def failure(order_id: str, seconds: float) -> Event[EventData]:
    data = OrderSubmissionFailed(
        order_id=order_id, provider="Printify", reason="out of stock", attempt=1, max_attempts=3
    )
    return ev(data, seconds)


def rows_of(body: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body.removeprefix("\ufeff"))))


async def test_ten_thousand_entries_export_in_batches_newest_first(
    quiet_api: httpx.AsyncClient, engine: AsyncEngine, log: Log
) -> None:
    placed = OrderCreated.example().model_copy(
        update={"order_id": "ord_demo_1", "order_number": "SS-261201-C600"}
    )
    sync = SyncCompleted.example()
    await log(ev(placed, -1))
    await PostgresLogStore(engine).write(
        [entry_from_event(ev(sync, i)) for i in range(9_997)]
        + [entry_from_event(failure("ord_demo_1", 10_000 + i)) for i in range(2)]
    )
    response = await quiet_api.get("/api/feed.csv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = rows_of(response.text)
    assert rows[0] == list(HEADER)
    assert len(rows) == 1 + 10_000
    assert [r[2] for r in rows[1:3]] == ["order.submission_failed"] * 2
    assert rows[1][3] == "SS-261201-C600" and rows[1][1] == "error"  # the shop's number
    assert rows[-1][2] == "order.created"
    times = [datetime.fromisoformat(r[0]) for r in rows[1:]]
    assert times == sorted(times, reverse=True)
    assert len({r[-1] for r in rows[1:]}) == 10_000  # no entry twice

    # Streamed: the header, then one chunk per batch, never the whole export at once.
    chunks = [c async for c in csv_chunks(FeedExport(engine, batch=1_000), FeedFilter())]
    assert len(chunks) == 1 + 10
    assert all(c.count(b"\r\n") <= 1_000 for c in chunks)
    assert b"".join(chunks).decode() == response.text


async def test_the_csv_follows_the_feed_filters(quiet_api: httpx.AsyncClient, log: Log) -> None:
    await log(*(ev(SyncCompleted.example(), i * 3600) for i in range(6)))
    await log(*(failure(f"ord_{i}", i * 3600 + 60) for i in range(6)))
    since, until = (T0 + timedelta(hours=2)).isoformat(), (T0 + timedelta(hours=4)).isoformat()
    params: Any = {"level": "error", "from": since, "to": until}
    rows = rows_of((await quiet_api.get("/api/feed.csv", params=params)).text)[1:]
    assert [r[3] for r in rows] == ["ord_3", "ord_2"]  # the id: no number known
    page = (await quiet_api.get("/api/feed", params=params)).json()
    assert [e["order_id"] for e in page["entries"]] == ["ord_3", "ord_2"]
    assert page["total"] == 2
    info = (await quiet_api.get("/api/feed", params={"level": "info", "from": since})).json()
    assert info["total"] == 4 and len(info["entries"]) == 4
    naive = (await quiet_api.get("/api/feed", params={"to": "2026-12-01T01:30:00"})).json()
    assert naive["total"] == 4  # read as UTC: 00:00, 00:01, 01:00, 01:01 (not 02:00)


async def test_cells_a_spreadsheet_would_run_get_a_leading_quote(
    quiet_api: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    base = entry_from_event(ev(SyncCompleted.example(), 0))
    hostile = ['=HYPERLINK("http://x")', "+1+1", "-2", "@SUM(A1)", "\tx", "\rx", "plain"]
    entries = [
        replace(entry_from_event(ev(SyncCompleted.example(), i)), message=m)
        for i, m in enumerate(hostile)
    ]
    assert base.message  # a real entry, message aside
    await PostgresLogStore(engine).write(entries)
    rows = rows_of((await quiet_api.get("/api/feed.csv")).text)[1:]
    assert [r[4] for r in reversed(rows)] == [
        "'=HYPERLINK(\"http://x\")", "'+1+1", "'-2", "'@SUM(A1)", "'\tx", "'\rx", "plain",
    ]  # fmt: skip
