"""Orders pages and filters, feed level and day filters, and the CSV download, in Chromium."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.async_api import ViewportSize, expect

from shoptrail.admin_ui.devtools.browser import Tab, log_in
from shoptrail.admin_ui.devtools.harness import ActivityHandle, Story
from shoptrail.events.fulfilment import OrderShipped
from shoptrail.events.ingest import OrderCreated

pytestmark = [pytest.mark.browser, pytest.mark.postgres]

PHONE: ViewportSize = {"width": 390, "height": 844}
DESKTOP: ViewportSize = {"width": 1280, "height": 900}


def shots(artifacts: Path) -> Path:
    folder = artifacts / "screenshots"
    folder.mkdir(exist_ok=True)
    return folder


async def test_orders_page_by_page_filter_by_status_and_days(
    tab: Tab, admin: str, activity: ActivityHandle, story: Story, artifacts: Path
) -> None:
    created = OrderCreated.example()
    await activity.log(
        *(
            story.at(
                n * 0.5,
                created.model_copy(
                    update={
                        "order_id": f"ord_{n:04d}",
                        "order_number": f"SS-261201-C{n:03d}",
                        "customer_email": f"a.very.long.customer.name.{n}@example-shop.co.uk",
                    }
                ),
            )
            for n in range(120)
        )
    )
    shipped = OrderShipped.example()
    await activity.log(
        *(story.at(90, shipped.model_copy(update={"order_id": f"ord_{n:04d}"})) for n in (7, 8))
    )
    page = tab.page
    await page.set_viewport_size(DESKTOP)
    await log_in(page, admin, "/admin/orders")
    rows = page.locator("table.orders tbody tr")
    await expect(rows).to_have_count(50)
    await expect(page.locator("#orders-total")).to_have_text("120 orders")
    await expect(rows.first.get_by_role("link")).to_have_text("SS-261201-C119")
    await page.screenshot(path=str(shots(artifacts) / "orders-desktop.png"), full_page=True)
    await page.set_viewport_size(PHONE)
    await page.screenshot(path=str(shots(artifacts) / "orders-phone.png"), full_page=False)
    await page.set_viewport_size(DESKTOP)

    await page.get_by_role("link", name="Older →").click()
    await expect(rows).to_have_count(50)
    await expect(rows.first.get_by_role("link")).to_have_text("SS-261201-C069")
    await page.get_by_role("link", name="Older →").click()
    await expect(rows).to_have_count(20)
    await expect(rows.last.get_by_role("link")).to_have_text("SS-261201-C000")
    await expect(page.get_by_role("link", name="Older →")).to_have_count(0)
    await page.get_by_role("link", name="← Newer").click()
    await expect(rows.first.get_by_role("link")).to_have_text("SS-261201-C069")

    await page.get_by_label("Status", exact=True).select_option("shipped")
    await page.get_by_role("button", name="Search").click()
    await expect(page).to_have_url(f"{admin}/admin/orders?q=&status=shipped&from=&to=")
    await expect(rows).to_have_count(2)
    await expect(page.locator("#orders-total")).to_have_text("2 orders")
    await expect(page.locator(".status-counts a[aria-current=page]")).to_have_text("Shipped 2")

    await page.get_by_role("link", name="All 120").click()
    tomorrow = (story.start.date() + timedelta(days=2)).isoformat()
    await page.get_by_label("Placed from").fill(tomorrow)
    await page.get_by_role("button", name="Search").click()
    await expect(page).to_have_url(f"{admin}/admin/orders?q=&status=&from={tomorrow}&to=")
    await expect(page.locator(".empty")).to_have_text("No orders match.")
    await expect(page.get_by_label("Placed from")).to_have_value(tomorrow)  # kept in the form
    assert tab.errors == [] and tab.dialogs == []


async def test_feed_level_and_day_filters_and_the_csv_they_select(
    tab: Tab, admin: str, activity: ActivityHandle, story: Story, artifacts: Path
) -> None:
    await activity.log(*story.order_with_a_failed_submission("ord_1", "SS-261201-C600"))
    await activity.log(
        story.at(20, story.sync_failed("rate limit")),
        *(story.at(30 + i, story.sync_completed(i)) for i in range(5)),
    )
    page = tab.page
    await page.set_viewport_size(DESKTOP)
    await log_in(page, admin)
    feed = page.locator("#feed-entries > li")
    await expect(feed).to_have_count(12)
    await page.get_by_label("Errors").check()  # applies when ticked, like the categories
    await expect(page).to_have_url(f"{admin}/admin/activity?tab=all&level=error&q=&from=&to=")
    await expect(feed).to_have_count(2)
    failed = feed.filter(has_text="Submission to Printify failed")
    await expect(failed.locator(".order-link")).to_have_text("Order SS-261201-C600")
    await page.screenshot(path=str(shots(artifacts) / "feed-levels-desktop.png"), full_page=False)
    await page.set_viewport_size(PHONE)
    await page.screenshot(path=str(shots(artifacts) / "feed-levels-phone.png"), full_page=True)
    await page.set_viewport_size(DESKTOP)

    async with page.expect_download() as downloading:
        await page.get_by_role("link", name="Download CSV").click()
    download = await downloading.value
    saved = Path(await download.path())
    text = await asyncio.to_thread(saved.read_text, encoding="utf-8-sig")
    lines = text.strip().splitlines()
    assert lines[0].startswith("time,level,type,order_number,message,resolved")
    assert len(lines) == 3 and "SS-261201-C600" in lines[2]

    today = story.start.date().isoformat()
    tomorrow = (story.start.date() + timedelta(days=2)).isoformat()
    await page.get_by_label("From").fill(tomorrow)
    await page.get_by_role("button", name="Apply").click()
    await expect(page).to_have_url(
        f"{admin}/admin/activity?tab=all&level=error&q=&from={tomorrow}&to="
    )
    await expect(feed).to_have_count(0)
    await expect(page.locator("#feed-total")).to_have_text("0 entries")
    await page.get_by_label("From").fill(today)
    await page.get_by_label("To").fill(today)
    await page.get_by_role("button", name="Apply").click()
    await expect(feed).to_have_count(2)
    await page.get_by_role("link", name="Clear filters").click()
    await expect(page).to_have_url(f"{admin}/admin/activity")
    await expect(feed).to_have_count(12)
    assert tab.errors == [] and tab.dialogs == []
