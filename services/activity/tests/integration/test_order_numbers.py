"""Entries in the shop's words: the order number on every entry about an order, and search by it."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect

from shoptrail.activity.bootstrap import create_app
from shoptrail.activity.config import Settings
from shoptrail.activity.realtime.tokens import mint
from shoptrail.events import Event, EventData, new_event
from shoptrail.events.fulfilment import OrderShipped, OrderSubmissionFailed
from shoptrail.events.ingest import OrderCreated
from shoptrail.kit.serving import served
from shoptrail.testing.waiting import until

from ..conftest import Namespace, settings_for

pytestmark = pytest.mark.postgres

Log = Callable[..., Awaitable[list[int]]]
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
ORIGIN = "http://admin.test"
SECRET = "test-ws-secret-for-order-numbers"


def ev(data: EventData, minutes: float) -> Event[EventData]:
    return new_event(data, source="/tests", time=T0 + timedelta(minutes=minutes))


def order(n: int) -> OrderCreated:
    return OrderCreated.example().model_copy(
        update={
            "order_id": f"ord_demo_{n:012x}",
            "order_number": f"SS-261201-C{n:03d}",
            "customer_email": f"Shopper.{n}@Example.com",
        }
    )


def failure(order_id: str, minutes: float) -> Event[EventData]:
    data = OrderSubmissionFailed(
        order_id=order_id, provider="Printify", reason="out of stock", attempt=1, max_attempts=3
    )
    return ev(data, minutes)


async def get(api: httpx.AsyncClient, path: str, **params: Any) -> Any:
    response = await api.get(path, params=params)
    assert response.status_code == 200, response.text
    return response.json()


async def test_entries_show_the_number_once_the_order_is_known(
    quiet_api: httpx.AsyncClient, log: Log
) -> None:
    placed = order(600)
    # The failure arrives before the order's snapshot: its id until the number is known.
    (early,) = await log(failure(placed.order_id, 5))
    seq = (await get(quiet_api, "/api/feed"))["seq"]
    assert (await get(quiet_api, f"/api/entries/{early}"))["order_number"] is None
    await log(ev(placed, 0), ev(OrderShipped.example().model_copy(
        update={"order_id": placed.order_id}), 60))  # fmt: skip
    await log(ev(OrderShipped.example().model_copy(update={"order_id": "ord_other"}), 61))

    feed = await get(quiet_api, "/api/feed")
    numbers = {e["order_id"]: e["order_number"] for e in feed["entries"]}
    assert numbers == {placed.order_id: "SS-261201-C600", "ord_other": None}
    assert all(
        e["order_number"] == "SS-261201-C600"
        for e in feed["entries"]
        if e["order_id"] == placed.order_id
    )
    timeline = await get(quiet_api, f"/api/orders/{placed.order_id}/timeline")
    assert [e["order_number"] for e in timeline] == ["SS-261201-C600"] * 3
    changes = await get(quiet_api, "/api/feed/changes", since=seq)
    assert {e["order_number"] for e in changes["entries"]} == {"SS-261201-C600", None}
    assert (await get(quiet_api, f"/api/entries/{early}"))["order_number"] == "SS-261201-C600"
    resolved = await quiet_api.post(f"/api/entries/{early}/resolve", json={})
    assert resolved.json()["order_number"] == "SS-261201-C600"


@pytest.mark.parametrize("term", ["SS-261201-C601", "ss-261201-c601", "shopper.601@example.com"])
async def test_search_by_order_number_or_email_finds_the_orders_entries(
    quiet_api: httpx.AsyncClient, log: Log, term: str
) -> None:
    wanted, other = order(601), order(602)
    await log(ev(wanted, 0), ev(other, 1), failure(wanted.order_id, 2), failure(other.order_id, 3))
    found = await get(quiet_api, "/api/feed", q=term)
    assert {e["order_id"] for e in found["entries"]} == {wanted.order_id}
    assert {e["event_type"] for e in found["entries"]} == {
        "order.created",
        "order.submission_failed",
    }
    assert found["total"] == 2
    assert {e["order_number"] for e in found["entries"]} == {"SS-261201-C601"}


@contextlib.asynccontextmanager
async def served_activity(settings: Settings) -> AsyncIterator[str]:
    app = create_app(settings)
    async with app.router.lifespan_context(app), served(app, ws="websockets-sansio") as url:
        yield url


@pytest.mark.kafka
async def test_live_frames_carry_the_order_number(
    engine: Any, database_url: str, namespace: Namespace
) -> None:
    settings = settings_for(
        database_url, namespace, ws_token_secret=SECRET, ws_allowed_origins=ORIGIN
    )
    placed = order(603)
    token, _ = mint(
        SECRET.encode(), subject="alice", ttl=timedelta(minutes=5), now=datetime.now(UTC)
    )
    async with served_activity(settings) as url:
        ws_url = url.replace("http://", "ws://") + "/ws?feed=1"
        async with connect(ws_url, origin=ORIGIN) as conn:  # type: ignore[arg-type]
            await conn.send(json.dumps({"type": "auth", "token": token}))
            messages: list[dict[str, Any]] = [json.loads(await conn.recv())]
            assert messages[0]["type"] == "hello"

            async def receive() -> None:
                async for raw in conn:
                    messages.append(json.loads(raw))

            reader = asyncio.create_task(receive())

            def pushed() -> list[dict[str, Any]]:
                return [e for m in messages if m["type"] == "entries" for e in m["entries"]]

            try:
                # One after the other: they are on different topics, and a failure
                # consumed before its order's snapshot would rightly show the id.
                await namespace.publish([ev(placed, 0)])
                await until(lambda: len(pushed()) >= 1, "the order pushed", timeout=60)
                await namespace.publish([failure(placed.order_id, 1)])
                await until(lambda: len(pushed()) >= 2, "the failure pushed", timeout=60)
            finally:
                reader.cancel()
    assert {(e["event_type"], e["order_number"]) for e in pushed()} == {
        ("order.created", "SS-261201-C603"),
        ("order.submission_failed", "SS-261201-C603"),
    }
