"""`POST /api/entries/open` on real PostgreSQL: what the notifier may alert about."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

import httpx
import pytest

from shoptrail.events import Event, EventData, new_event
from shoptrail.events.fulfilment import OrderSubmissionFailed, OrderSubmitted

pytestmark = pytest.mark.postgres

Log = Callable[..., Awaitable[list[int]]]


def failed(order: str) -> Event[EventData]:
    data = OrderSubmissionFailed(
        order_id=order, provider="Printify", reason="out of stock", attempt=1, max_attempts=3
    )
    return new_event(data, source="/tests")


async def test_open_closed_and_not_yet_logged(quiet_api: httpx.AsyncClient, log: Log) -> None:
    error, resolved = failed("ord_A1"), failed("ord_B2")
    info = new_event(
        OrderSubmitted(order_id="ord_C3", provider="Printify", provider_order_id="P-1"),
        source="/tests",
    )
    error_id, resolved_id, _ = await log(error, resolved, info)
    done = await quiet_api.post(f"/api/entries/{resolved_id}/resolve", json={"note": "ok"})
    assert done.status_code == 200, done.text
    unknown = uuid.uuid4()

    asked = [str(e) for e in (error.id, resolved.id, info.id, unknown)]
    response = await quiet_api.post("/api/entries/open", json={"event_ids": asked})

    assert response.status_code == 200, response.text
    body = response.json()
    [entry] = body["open"]
    assert entry["event_id"] == str(error.id) and entry["entry_id"] == error_id
    assert entry["level"] == "error" and entry["order_id"] == "ord_A1"
    assert "out of stock" in entry["title"]
    assert set(body["closed"]) == {str(resolved.id), str(info.id)}
    assert body["pending"] == [str(unknown)]


async def test_needs_the_service_token(quiet_api: httpx.AsyncClient) -> None:
    response = await quiet_api.post(
        "/api/entries/open", json={"event_ids": []}, headers={"Authorization": "Bearer wrong"}
    )
    assert response.status_code == 401


async def test_refuses_more_than_a_page(quiet_api: httpx.AsyncClient) -> None:
    ids = [str(uuid.uuid4()) for _ in range(1001)]
    response = await quiet_api.post("/api/entries/open", json={"event_ids": ids})
    assert response.status_code == 422
