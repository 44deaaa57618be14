"""Grouped failures in a real browser: one row per problem, resolved in one click."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import expect

from shoptrail.admin_ui.devtools.browser import Tab, log_in
from shoptrail.admin_ui.devtools.harness import ActivityHandle, Story
from shoptrail.events import EventData
from shoptrail.events.ingest import OrderCreated

pytestmark = [pytest.mark.browser, pytest.mark.postgres]


async def test_an_outage_is_one_row_resolved_at_once_and_the_badge_drops(
    tab: Tab, admin: str, activity: ActivityHandle, story: Story, artifacts: Path
) -> None:
    orders: list[EventData] = [
        OrderCreated.example().model_copy(
            update={"order_id": f"ord_{n}", "order_number": f"SS-{n}"}
        )
        for n in range(5)
    ]
    failures = [
        story.submission_failed(f"ord_{n % 5}", f"timeout after {20 + n}s") for n in range(12)
    ]
    # Two hours ago the orders, then the outage, its last occurrence two minutes ago.
    await activity.log(*(story.at(i, o) for i, o in enumerate(orders)))
    await activity.log(story.at(60, story.sync_failed("API rate limit exceeded")))
    await activity.log(*(story.at(107 + i, f) for i, f in enumerate(failures)))

    page = tab.page
    await log_in(page, admin)
    badge = page.locator("#attention-badge [data-attention-count]")
    await expect(badge).to_have_text("2")  # two problems, not thirteen entries
    await page.goto(f"{admin}/admin/activity?tab=attention")
    rows = page.locator("#groups > li")
    await expect(rows).to_have_count(2)
    outage = rows.first
    await expect(outage.locator(".group-summary")).to_have_text(
        "Submission failed — seen 12 times, last 2 min ago · 5 orders"
    )
    await expect(rows.nth(1).locator(".group-summary")).to_contain_text("Product sync failed")

    await page.set_viewport_size({"width": 1280, "height": 900})
    shots = artifacts / "screenshots"
    shots.mkdir(exist_ok=True)
    await page.screenshot(path=str(shots / "groups-attention-desktop.png"), full_page=True)
    await page.set_viewport_size({"width": 390, "height": 844})
    await page.screenshot(path=str(shots / "groups-attention-phone.png"), full_page=True)

    await outage.locator(".group-summary a").click()
    await expect(page.locator("h1")).to_have_text("Submission failed")
    await expect(page.locator(".group-orders li")).to_have_count(5)
    await expect(page.locator(".group-orders")).to_contain_text("SS-3")
    await expect(page.locator("#group-entries-list > li")).to_have_count(12)
    await page.screenshot(path=str(shots / "group-page-phone.png"), full_page=True)
    await page.set_viewport_size({"width": 1280, "height": 900})
    await page.screenshot(path=str(shots / "group-page-desktop.png"), full_page=True)
    await page.go_back()

    await outage.get_by_role("button", name="Resolve group").click()
    await expect(page.locator(".flash")).to_have_text("Resolved the group (12 entries)")
    await expect(badge).to_have_text("1")
    await expect(rows).to_have_count(1)
    await expect(rows.first.locator(".group-summary")).to_contain_text("Product sync failed")
    attention = await activity.api("GET", "/api/attention/counts")
    assert attention == {"groups": 1, "entries": 1}
    assert tab.errors == [] and tab.dialogs == []
