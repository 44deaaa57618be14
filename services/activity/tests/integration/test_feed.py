"""The feed, counts, timeline, resolve actions and auto-resolve, over HTTP."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from shoptrail.events import Event, EventData, Money, new_event
from shoptrail.events.fulfilment import (
    OrderShipped,
    OrderSubmissionFailed,
    OrderSubmitted,
    SyncCompleted,
    SyncFailed,
)
from shoptrail.events.ingest import CheckoutExpired, EmailBounced, OrderCreated, OrderRefunded
from shoptrail.events.notifier import OrderConfirmationSent
from shoptrail.events.system import JobExhausted

pytestmark = pytest.mark.postgres

Log = Callable[..., Awaitable[list[int]]]
T0 = datetime(2026, 2, 16, 9, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def ev(data: EventData, minutes: float) -> Event[EventData]:
    return new_event(data, source="/tests", time=at(minutes))


def failed(order: str, minutes: float, attempt: int = 1) -> Event[EventData]:
    data = OrderSubmissionFailed(
        order_id=order, provider="Printify", reason="out of stock", attempt=attempt, max_attempts=3
    )
    return ev(data, minutes)


def submitted(order: str, minutes: float) -> Event[EventData]:
    return ev(OrderSubmitted(order_id=order, provider="Printify", provider_order_id="P-1"), minutes)


async def get(api: httpx.AsyncClient, path: str, **params: Any) -> Any:
    response = await api.get(path, params=params)
    assert response.status_code == 200, response.text
    return response.json()


async def badge(api: httpx.AsyncClient) -> int:
    count: int = (await get(api, "/api/attention/count"))["count"]
    return count


class TestTabsFiltersAndCounts:
    async def test_all_and_needs_attention_tabs_with_their_counts(
        self, quiet_api: httpx.AsyncClient, log: Log
    ) -> None:
        await log(
            ev(OrderCreated.example(), 1),
            failed("ord_1", 2),
            ev(EmailBounced.example(), 3),
            ev(CheckoutExpired.example(), 4),  # debug: hidden by default
        )
        everything = await get(quiet_api, "/api/feed")
        assert everything["total"] == 3
        assert [e["event_type"] for e in everything["entries"]] == [
            "email.bounced",
            "order.submission_failed",
            "order.created",
        ]
        attention = await get(quiet_api, "/api/feed", tab="attention")
        assert attention["total"] == 2 == await badge(quiet_api)
        assert all(e["needs_attention"] for e in attention["entries"])
        with_debug = await get(quiet_api, "/api/feed", include_debug="true")
        assert with_debug["total"] == 4
        assert with_debug["entries"][0]["event_type"] == "checkout.expired"

    async def test_category_level_and_search_filters(
        self, quiet_api: httpx.AsyncClient, log: Log
    ) -> None:
        await log(
            ev(OrderCreated.example(), 1),
            ev(OrderConfirmationSent(order_id="ord_1", recipient="ann@example.com"), 2),
            ev(OrderConfirmationSent(order_id="ord_2", recipient="bob@example.com"), 3),
            ev(SyncFailed(sync_id="s1", provider="Printful", reason="100% broken_thing"), 4),
        )
        emails = await get(quiet_api, "/api/feed", category="emails")
        assert {e["message"] for e in emails["entries"]} == {
            "Order confirmation sent to ann@example.com",
            "Order confirmation sent to bob@example.com",
        }
        assert emails["total"] == 2
        both = await get(quiet_api, "/api/feed", category=["emails", "syncs"])
        assert both["total"] == 3
        errors = await get(quiet_api, "/api/feed", level="error")
        assert [e["event_type"] for e in errors["entries"]] == ["sync.failed"]
        found = await get(quiet_api, "/api/feed", q="BOB@example")
        assert [e["message"] for e in found["entries"]] == [
            "Order confirmation sent to bob@example.com"
        ]
        assert found["total"] == 1
        # LIKE wildcards in the search are matched literally.
        assert (await get(quiet_api, "/api/feed", q="100%"))["total"] == 1
        assert (await get(quiet_api, "/api/feed", q="broken_t"))["total"] == 1
        assert (await get(quiet_api, "/api/feed", q="brokenXt"))["total"] == 0

    async def test_an_unknown_category_is_a_clear_422(self, quiet_api: httpx.AsyncClient) -> None:
        response = await quiet_api.get("/api/feed", params={"category": "gossip"})
        assert response.status_code == 422
        assert "category" in response.text


class TestPagination:
    async def test_keyset_pages_stay_stable_while_new_entries_arrive(
        self, quiet_api: httpx.AsyncClient, log: Log
    ) -> None:
        await log(*(ev(OrderShipped.example(), m) for m in range(120)))
        first = await get(quiet_api, "/api/feed")
        assert len(first["entries"]) == 50 and first["total"] == 120
        assert first["newer"] is None

        await log(*(ev(OrderShipped.example(), 1000 + m) for m in range(30)))  # newer arrivals
        second = await get(quiet_api, "/api/feed", after=first["older"])
        third = await get(quiet_api, "/api/feed", after=second["older"])
        pages = first["entries"] + second["entries"] + third["entries"]
        assert len(third["entries"]) == 20 and third["older"] is None
        times = [e["occurred_at"] for e in pages]
        assert times == sorted(times, reverse=True)
        assert len({e["id"] for e in pages}) == 120, "an entry was skipped or shown twice"

        back = await get(quiet_api, "/api/feed", before=second["newer"])
        assert [e["id"] for e in back["entries"]] == [e["id"] for e in first["entries"]]
        assert back["total"] == 150

    async def test_a_forged_cursor_is_a_400(self, quiet_api: httpx.AsyncClient) -> None:
        response = await quiet_api.get("/api/feed", params={"after": "not-a-cursor"})
        assert response.status_code == 400
        assert "invalid cursor" in response.json()["detail"]


class TestResolving:
    async def test_resolving_an_error_lowers_the_badge_and_is_idempotent(
        self, quiet_api: httpx.AsyncClient, log: Log
    ) -> None:
        (entry_id,) = await log(failed("ord_1", 1))
        assert await badge(quiet_api) == 1
        first = await quiet_api.post(f"/api/entries/{entry_id}/resolve", json={"note": "restocked"})
        assert first.status_code == 200
        assert first.json()["resolution"] == "resolved"
        assert first.json()["resolution_note"] == "restocked"
        assert await badge(quiet_api) == 0
        again = await quiet_api.post(f"/api/entries/{entry_id}/resolve", json={"note": "x"})
        assert again.status_code == 200
        assert again.json()["resolution_note"] == "restocked"
        assert await badge(quiet_api) == 0

    async def test_dismiss_and_the_errors_that_make_no_sense(
        self, quiet_api: httpx.AsyncClient, log: Log
    ) -> None:
        bounced, info = await log(ev(EmailBounced.example(), 1), ev(OrderCreated.example(), 2))
        dismissed = await quiet_api.post(f"/api/entries/{bounced}/dismiss", json={})
        assert dismissed.json()["resolution"] == "dismissed"
        assert (await quiet_api.post(f"/api/entries/{info}/resolve", json={})).status_code == 409
        assert (await quiet_api.post("/api/entries/999999/resolve", json={})).status_code == 404

    async def test_bulk_resolve_takes_everything_matching_with_no_cap(
        self, quiet_api: httpx.AsyncClient, log: Log
    ) -> None:
        await log(*(failed(f"ord_{n}", n / 10) for n in range(1200)))
        await log(ev(SyncFailed.example(), 1), ev(EmailBounced.example(), 2))
        # The badge counts problems (groups): the 1200 alike failures are one.
        assert await badge(quiet_api) == 3
        assert (await get(quiet_api, "/api/attention/counts"))["entries"] == 1202
        response = await quiet_api.post(
            "/api/feed/resolve", params={"category": "fulfilment"}, json={"note": "bulk"}
        )
        assert response.json()["resolved"] == 1200
        assert await badge(quiet_api) == 2

    async def test_resolving_an_order_resolves_only_that_orders_problems(
        self, quiet_api: httpx.AsyncClient, log: Log
    ) -> None:
        await log(failed("ord_a", 1), failed("ord_a", 2, attempt=2), failed("ord_b", 3))
        response = await quiet_api.post("/api/orders/ord_a/resolve", json={})
        assert response.json()["resolved"] == 2
        remaining = await get(quiet_api, "/api/feed", tab="attention")
        assert [e["order_id"] for e in remaining["entries"]] == ["ord_b"]

    async def test_requests_without_the_service_token_are_refused(
        self, quiet_api: httpx.AsyncClient
    ) -> None:
        response = await quiet_api.get("/api/feed", headers={"Authorization": "Bearer nope"})
        assert response.status_code == 401


class TestAutoResolve:
    async def test_a_successful_submission_resolves_earlier_failures_with_a_note(
        self, quiet_api: httpx.AsyncClient, log: Log
    ) -> None:
        exhausted = ev(JobExhausted.example().model_copy(update={"order_id": "ord_1"}), 3)
        await log(failed("ord_1", 1), failed("ord_1", 2, attempt=2), exhausted, failed("ord_2", 2))
        assert await badge(quiet_api) == 2  # groups: the three alike failures, the job
        await log(submitted("ord_1", 5))
        assert await badge(quiet_api) == 1  # ord_2's failure keeps its group open
        assert (await get(quiet_api, "/api/attention/counts"))["entries"] == 1
        timeline = await get(quiet_api, "/api/orders/ord_1/timeline")
        fixed = [e for e in timeline if e["event_type"] != "order.submitted"]
        assert all(e["resolution"] == "auto" for e in fixed)
        assert fixed[0]["resolution_note"] == (
            "superseded by a later success: Submitted to Printify (P-1)"
        )

    async def test_an_error_that_arrives_late_is_resolved_by_the_earlier_success(
        self, quiet_api: httpx.AsyncClient, log: Log
    ) -> None:
        await log(submitted("ord_1", 5))
        await log(failed("ord_1", 1))  # happened before the success, logged after it
        assert await badge(quiet_api) == 0
        await log(failed("ord_1", 9))  # a genuinely new failure stays open
        assert await badge(quiet_api) == 1

    async def test_a_sync_completing_resolves_only_its_providers_failure(
        self, quiet_api: httpx.AsyncClient, log: Log
    ) -> None:
        await log(
            ev(SyncFailed(sync_id="a", provider="Printify", reason="rate limit"), 1),
            ev(SyncFailed(sync_id="b", provider="Printful", reason="rate limit"), 1),
        )
        await log(ev(SyncCompleted(sync_id="c", provider="Printify", total=47, updated=3), 2))
        open_errors = (await get(quiet_api, "/api/feed", tab="attention"))["entries"]
        assert [e["payload"]["provider"] for e in open_errors] == ["Printful"]


class TestOrders:
    async def test_timeline_is_oldest_first_by_when_it_happened(
        self, quiet_api: httpx.AsyncClient, log: Log
    ) -> None:
        created = OrderCreated.example().model_copy(update={"order_id": "ord_9"})
        shipped = OrderShipped.example().model_copy(update={"order_id": "ord_9"})
        await log(ev(shipped, 30), ev(created, 1))  # logged out of order
        await log(submitted("ord_9", 10))
        timeline = await get(quiet_api, "/api/orders/ord_9/timeline")
        assert [e["message"] for e in timeline] == [
            "Order placed — £43.00 via Stripe",
            "Submitted to Printify (P-1)",
            "Shipped via DHL — tracking: 1Z999AA10123456784",
        ]

    async def test_the_read_model_follows_the_orders_events_and_ignores_late_ones(
        self, quiet_api: httpx.AsyncClient, log: Log
    ) -> None:
        created = OrderCreated.example()
        await log(ev(created, 1), ev(OrderShipped.example(), 30))
        await log(submitted(created.order_id, 10))  # late: must not move status backwards
        refund = OrderRefunded(
            order_id=created.order_id, amount=Money(amount=1000, currency="GBP"), full=False
        )
        await log(ev(refund, 40))
        order = await get(quiet_api, f"/api/orders/{created.order_id}")
        assert order["status"] == "shipped"
        assert order["order_number"] == "SS-260223-0042"
        assert order["total_amount"] == 4300 and order["currency"] == "GBP"
        assert order["tracking_number"] == "1Z999AA10123456784"
        assert order["provider_order_id"] == "P-1"
        assert order["refunded_amount"] == 1000
        assert order["line_items"][0]["product_id"] == "prod_tee_black"
        listed = await get(quiet_api, "/api/orders", q="SS-2602")
        assert [o["order_id"] for o in listed["orders"]] == [created.order_id]
        assert (await quiet_api.get("/api/orders/nope")).status_code == 404
