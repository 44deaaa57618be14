"""Orders pages with filters and counts, feed level/day filters and the CSV download, over HTTP."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest

from shoptrail.admin_ui.devtools.harness import ActivityHandle, AdminClient, Story
from shoptrail.events import Event, EventData
from shoptrail.events.fulfilment import OrderShipped
from shoptrail.events.ingest import OrderCreated

pytestmark = pytest.mark.postgres

ORDER_LINK = re.compile(r'<th scope="row"><a href="/admin/orders/[^"]+">([^<]+)</a></th>')
OLDER = re.compile(r'<a href="([^"]+)" rel="next">Older')
NEWER = re.compile(r'<a href="([^"]+)" rel="prev">')


def placed(story: Story, n: int, minutes: float) -> Event[EventData]:
    data = OrderCreated.example().model_copy(
        update={
            "order_id": f"ord_{n:04d}",
            "order_number": f"SS-{n:04d}",
            "customer_email": f"buyer{n}@example.com",
        }
    )
    return story.at(minutes, data)


def unescape(href: str) -> str:
    return href.replace("&amp;", "&")


async def test_orders_page_by_page_with_status_and_days_in_the_url(
    client: AdminClient, activity: ActivityHandle, story: Story
) -> None:
    await activity.log(*(placed(story, n, n * 0.5) for n in range(120)))
    shipped = OrderShipped.example()
    await activity.log(
        *(story.at(100, shipped.model_copy(update={"order_id": f"ord_{n:04d}"})) for n in (3, 4))
    )
    seen: list[str] = []
    url = "/admin/orders"
    for _ in range(3):
        html = (await client.http.get(url)).text
        seen += ORDER_LINK.findall(html)
        assert "120 orders" in html
        older = OLDER.search(html)
        if older is None:
            break
        url = unescape(older.group(1))
    assert seen == [f"SS-{n:04d}" for n in range(119, -1, -1)]
    back = (await client.http.get(unescape(NEWER.findall(html)[0]))).text
    assert ORDER_LINK.findall(back) == [f"SS-{n:04d}" for n in range(69, 19, -1)]

    page = (await client.http.get("/admin/orders", params={"status": "shipped"})).text
    assert ORDER_LINK.findall(page) == ["SS-0004", "SS-0003"] and "2 orders" in page
    assert 'href="/admin/orders?status=shipped" aria-current="page">Shipped' in page
    assert "Paid (118)" in page  # counts per status in the status picker

    day = story.start.date().isoformat()
    dated = (await client.http.get("/admin/orders", params={"from": day, "to": day})).text
    assert "120 orders" in dated
    tomorrow = (story.start.date() + timedelta(days=2)).isoformat()
    none = (await client.http.get("/admin/orders", params={"from": tomorrow})).text
    assert "No orders match." in none and "0 orders" in none


async def test_feed_levels_days_and_a_csv_of_what_they_select(
    client: AdminClient, activity: ActivityHandle, story: Story
) -> None:
    await activity.log(*story.order_with_a_failed_submission("ord_1", "SS-261201-C600"))
    await activity.log(story.at(20, story.sync_failed("rate limit")))
    page = (await client.http.get("/admin/activity", params={"level": "error"})).text
    assert "2 entries" in page
    assert "Order SS-261201-C600</a>" in page  # the shop's number, not ord_1
    assert 'href="/admin/activity/export.csv?level=error"' in page

    response = await client.http.get("/admin/activity/export.csv", params={"level": "error"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "content-length" not in response.headers  # passed on as it streams
    rows = list(csv.reader(io.StringIO(response.text.removeprefix("\ufeff"))))
    assert rows[0][:6] == ["time", "level", "type", "order_number", "message", "resolved"]
    assert [(r[1], r[2], r[3]) for r in rows[1:]] == [
        ("error", "sync.failed", ""),
        ("error", "order.submission_failed", "SS-261201-C600"),
    ]

    tomorrow = (story.start.date() + timedelta(days=2)).isoformat()
    later = (await client.http.get("/admin/activity", params={"from": tomorrow})).text
    assert "0 entries" in later and "No activity matches." in later
    export = await client.http.get("/admin/activity/export.csv", params={"from": tomorrow})
    assert len(list(csv.reader(io.StringIO(export.text)))) == 1  # the header only
