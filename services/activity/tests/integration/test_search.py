"""Search over HTTP: the same newest-first answers without scanning, capped totals, identifiers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from shoptrail.activity.adapters.search import RECENT_WINDOW
from shoptrail.activity.domain.feed import SEARCH_COUNT_CAP
from shoptrail.events import Event, EventData, Money, new_event
from shoptrail.events.fulfilment import OrderShipped, OrderSubmissionFailed, OrderSubmitted
from shoptrail.events.ingest import EmailBounced, OrderCreated
from shoptrail.events.notifier import OrderConfirmationSent

pytestmark = pytest.mark.postgres

Log = Callable[..., Awaitable[list[int]]]
T0 = datetime(2026, 2, 16, 9, 0, tzinfo=UTC)
NAMES = ("olivia.smith", "noah.jones", "amelia.patel", "leo.khan", "isla.brown")


def ev(data: EventData, n: float) -> Event[EventData]:
    return new_event(data, source="/tests", time=T0 + timedelta(seconds=n))


async def get(api: httpx.AsyncClient, **params: Any) -> Any:
    response = await api.get("/api/feed", params=params)
    assert response.status_code == 200, response.text
    return response.json()


async def every_page(api: httpx.AsyncClient, q: str) -> list[int]:
    """Page through a search to its end, older and older."""
    ids: list[int] = []
    page = await get(api, q=q)
    while True:
        ids += [e["id"] for e in page["entries"]]
        if not page["older"]:
            return ids
        page = await get(api, q=q, after=page["older"])


async def plain_query(engine: AsyncEngine, q: str) -> list[int]:
    """What search answered before: every match, newest first, scanned."""
    async with engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT id FROM activity_log WHERE level <> 'debug' AND message ILIKE :p "
                "ORDER BY occurred_at DESC, id DESC"
            ),
            {"p": f"%{q}%"},
        )
        return list(rows.scalars())


class TestNewestFirstAsBefore:
    async def test_pages_hold_the_same_entries_as_the_scanning_query(
        self, quiet_api: httpx.AsyncClient, log: Log, engine: AsyncEngine
    ) -> None:
        # More entries than a search walks, so both plans answer: common words from
        # the walk, rare ones (only old entries, or only a handful) from the index.
        n = RECENT_WINDOW + 600
        events = [
            ev(
                OrderConfirmationSent(
                    order_id=f"ord_{i}", recipient=f"{NAMES[i % 5]}{i % 97}@example.com"
                ),
                i,
            )
            for i in range(n)
        ]
        events += [
            ev(EmailBounced(recipient=f"rare.person{i}@example.com"), i + 0.5) for i in (3, 70)
        ]
        await log(*events)
        for q in (
            "sent to",  # every entry
            "olivia.smith",  # one in five
            "confirmation sent to leo.khan4",  # the name and digits: a few dozen
            "RARE.PERSON",  # two old entries, any case
            "bounced: rare.person70@example.com",
            "zanzibar",
        ):
            assert await every_page(quiet_api, q) == await plain_query(engine, q), q

    async def test_a_small_log_is_counted_exactly(
        self, quiet_api: httpx.AsyncClient, log: Log
    ) -> None:
        await log(
            *(
                ev(OrderConfirmationSent(order_id=f"o{i}", recipient=f"a{i}@x.io"), i)
                for i in range(80)
            )
        )
        page = await get(quiet_api, q="sent to a")
        assert (page["total"], page["total_capped"], len(page["entries"])) == (80, False, 50)
        assert (await get(quiet_api, q="a7"))["total"] == 11  # a7, a70..a79


class TestCappedTotals:
    async def test_a_common_search_says_1000_and_more(
        self, quiet_api: httpx.AsyncClient, log: Log
    ) -> None:
        await log(
            *(
                ev(OrderConfirmationSent(order_id=f"o{i}", recipient=f"c{i}@x.io"), i)
                for i in range(1200)
            )
        )
        page = await get(quiet_api, q="confirmation sent")
        assert page["total"] == SEARCH_COUNT_CAP == 1000
        assert page["total_capped"] is True
        few = await get(quiet_api, q="c11")  # c11, c110..c119, c1100..c1199
        assert (few["total"], few["total_capped"]) == (111, False)


class TestIdentifiers:
    async def test_an_order_number_tracking_number_or_email_finds_the_orders_entries(
        self, quiet_api: httpx.AsyncClient, log: Log
    ) -> None:
        created = OrderCreated.example().model_copy(
            update={
                "order_id": "ord_A1",
                "order_number": "SS-261201-C600",
                "customer_email": "ann.lee@example.com",
                "total": Money(amount=2500, currency="GBP"),
            }
        )
        other = created.model_copy(
            update={
                "order_id": "ord_B2",
                "order_number": "SS-261201-C601",
                "customer_email": "bo@x.io",
            }
        )
        await log(
            ev(created, 1),
            ev(other, 2),
            ev(
                OrderSubmitted(order_id="ord_A1", provider="Printify", provider_order_id="PFY-77"),
                3,
            ),
            ev(
                OrderSubmitted(order_id="ord_B2", provider="Printify", provider_order_id="PFY-78"),
                4,
            ),
            ev(
                OrderShipped(
                    order_id="ord_A1",
                    provider="Printify",
                    carrier="Royal Mail",
                    tracking_number="RN123456785GB",
                ),
                5,
            ),
            ev(OrderConfirmationSent(order_id="ord_B2", recipient="bo@x.io"), 6),
        )
        ann = ["order.shipped", "order.submitted", "order.created"]
        for q in (
            "SS-261201-C600",
            "ss-261201-c600",
            "RN123456785GB",
            "pfy-77",
            "ann.lee@example.com",
        ):
            page = await get(quiet_api, q=q)
            assert [e["event_type"] for e in page["entries"]] == ann, q
            assert {e["order_id"] for e in page["entries"]} == {"ord_A1"}
            assert (page["total"], page["total_capped"]) == (3, False)
        # Words that are no identifier still only match messages.
        assert (await get(quiet_api, q="Printify"))["total"] == 2

    async def test_resolving_what_an_identifier_found_resolves_what_the_page_showed(
        self, quiet_api: httpx.AsyncClient, log: Log
    ) -> None:
        created = OrderCreated.example().model_copy(
            update={"order_id": "ord_R1", "order_number": "SS-261201-R100"}
        )
        failed = OrderSubmissionFailed.example()
        await log(
            ev(created, 1),
            ev(failed.model_copy(update={"order_id": "ord_R1", "reason": "out of stock"}), 2),
            # Another order's error that happens to mention the number.
            ev(failed.model_copy(update={"order_id": "ord_R2", "reason": "see SS-261201-R100"}), 3),
            # A number no order has: found by the messages that mention it.
            ev(
                failed.model_copy(update={"order_id": "ord_R3", "reason": "dup of SS-000000-X1"}), 4
            ),
        )
        shown = await get(quiet_api, q="SS-261201-R100")
        assert {e["order_id"] for e in shown["entries"]} == {"ord_R1"}
        open_errors = [e["id"] for e in shown["entries"] if e["level"] == "error"]

        response = await quiet_api.post(
            "/api/feed/resolve", params={"q": "SS-261201-R100"}, json={}
        )
        assert response.status_code == 200, response.text
        assert sorted(response.json()["ids"]) == sorted(open_errors)

        unknown = await quiet_api.post("/api/feed/resolve", params={"q": "SS-000000-X1"}, json={})
        assert [e["order_id"] for e in (await get(quiet_api, q="SS-000000-X1"))["entries"]] == [
            "ord_R3"
        ]
        assert unknown.json()["resolved"] == 1
