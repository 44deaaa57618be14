"""The orders list over HTTP: keyset pages, filters by status and date, counts per status."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from shoptrail.events import Event, EventData, new_event
from shoptrail.events.fulfilment import OrderShipped, OrderSubmitted
from shoptrail.events.ingest import OrderCreated

pytestmark = pytest.mark.postgres

Log = Callable[..., Awaitable[list[int]]]
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def placed(n: int, minutes: float) -> Event[EventData]:
    data = OrderCreated.example().model_copy(
        update={
            "order_id": f"ord_{n:04d}",
            "order_number": f"SS-2603-{n:04d}",
            "customer_email": f"buyer{n}@example.com",
        }
    )
    return new_event(data, source="/tests", time=T0 + timedelta(minutes=minutes))


def shipped(n: int, minutes: float) -> Event[EventData]:
    data = OrderShipped.example().model_copy(update={"order_id": f"ord_{n:04d}"})
    return new_event(data, source="/tests", time=T0 + timedelta(minutes=minutes))


def submitted(n: int, minutes: float) -> Event[EventData]:
    data = OrderSubmitted(order_id=f"ord_{n:04d}", provider="Printify", provider_order_id="P")
    return new_event(data, source="/tests", time=T0 + timedelta(minutes=minutes))


async def get(api: httpx.AsyncClient, **params: Any) -> Any:
    response = await api.get("/api/orders", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def ids(page: Any) -> list[str]:
    return [o["order_id"] for o in page["orders"]]


async def test_120_orders_page_in_three_without_gaps_or_repeats_while_orders_arrive(
    quiet_api: httpx.AsyncClient, log: Log
) -> None:
    # Pairs placed at the same minute: the id breaks the tie, so a page boundary
    # falling inside a pair neither repeats nor skips one.
    await log(*(placed(n, n // 2) for n in range(120)))
    expected = [f"ord_{n:04d}" for n in sorted(range(120), key=lambda n: (n // 2, n), reverse=True)]

    first = await get(quiet_api, limit=50)
    assert first["prev"] is None and first["total"] == 120
    await log(*(placed(n, 1000 + n) for n in range(500, 505)))  # newer, placed meanwhile
    second = await get(quiet_api, limit=50, after=first["next"])
    await log(placed(600, 2000))
    third = await get(quiet_api, limit=50, after=second["next"])
    assert third["next"] is None
    assert [len(p["orders"]) for p in (first, second, third)] == [50, 50, 20]
    assert ids(first) + ids(second) + ids(third) == expected

    back = await get(quiet_api, limit=50, before=third["prev"])
    assert ids(back) == ids(second)
    back = await get(quiet_api, limit=50, before=back["prev"])
    assert ids(back) == ids(first)  # the orders placed since are newer still: not on it
    assert back["prev"] is not None  # …but the way to them is
    newest = await get(quiet_api, limit=50, before=back["prev"])
    assert ids(newest) == ["ord_0600", *(f"ord_{n:04d}" for n in range(504, 499, -1))]
    assert newest["prev"] is None


async def test_orders_without_a_snapshot_come_last_and_page_too(
    quiet_api: httpx.AsyncClient, log: Log
) -> None:
    await log(*(placed(n, n) for n in range(3)), *(shipped(n, 50) for n in range(10, 14)))
    seen: list[str] = []
    page = await get(quiet_api, limit=2)
    while True:
        seen += ids(page)
        if not page["next"]:
            break
        page = await get(quiet_api, limit=2, after=page["next"])
    assert seen == [
        "ord_0002",
        "ord_0001",
        "ord_0000",
        "ord_0013",
        "ord_0012",
        "ord_0011",
        "ord_0010",
    ]


async def test_filters_by_status_and_placed_dates_with_counts_per_status(
    quiet_api: httpx.AsyncClient, log: Log
) -> None:
    await log(*(placed(n, n * 60) for n in range(10)))  # one an hour from 09:00
    await log(*(shipped(n, n * 60 + 5) for n in (1, 2, 3)), submitted(4, 4 * 60 + 5))

    every = await get(quiet_api)
    assert every["total"] == 10
    assert every["counts"] == {"paid": 6, "shipped": 3, "submitted": 1}

    only_shipped = await get(quiet_api, status="shipped")
    assert sorted(ids(only_shipped)) == ["ord_0001", "ord_0002", "ord_0003"]
    assert only_shipped["total"] == 3
    assert only_shipped["counts"]["paid"] == 6  # the other statuses still counted

    two = await get(quiet_api, status=["shipped", "submitted"])
    assert two["total"] == 4 and len(two["orders"]) == 4

    since, until = (T0 + timedelta(hours=2)).isoformat(), (T0 + timedelta(hours=5)).isoformat()
    window = await get(quiet_api, since=since, until=until)  # 11:00 ≤ placed < 14:00
    assert ids(window) == ["ord_0004", "ord_0003", "ord_0002"]
    assert window["counts"] == {"shipped": 2, "submitted": 1}
    assert window["total"] == 3

    dated = await get(quiet_api, since=since, until=until, status="shipped")
    assert ids(dated) == ["ord_0003", "ord_0002"] and dated["total"] == 2

    by_email = await get(quiet_api, q="buyer7@")
    assert ids(by_email) == ["ord_0007"] and by_email["total"] == 1


async def test_a_cursor_the_service_did_not_issue_is_refused(quiet_api: httpx.AsyncClient) -> None:
    for token in ("nonsense!", "bm8tc2VwYXJhdG9y", "MjAyNi0wMy0wMVQwOTowMDowMHxvcmRfMQ"):
        response = await quiet_api.get("/api/orders", params={"after": token})
        assert response.status_code == 400, token
