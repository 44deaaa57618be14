"""The admin in a real browser: login, the order timeline, the feed, escaping, CSRF."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.async_api import BrowserContext, expect
from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Route

from shoptrail.admin_ui.devtools.browser import Tab, log_in, open_tab
from shoptrail.admin_ui.devtools.harness import ActivityHandle, Story
from shoptrail.admin_ui.devtools.serving import serving
from shoptrail.admin_ui.domain.timefmt import full_timestamp, short_time
from shoptrail.events.ingest import EmailBounced

pytestmark = [pytest.mark.browser, pytest.mark.postgres]

HOSTILE = (
    '<script>window.__pwned = "script"</script>'
    "<img src=x onerror=\"window.__pwned = 'img'; alert('xss')\">"
)


async def test_pages_send_you_to_login_first(tab: Tab, admin: str) -> None:
    for path in ("/admin/activity", "/admin/orders", "/admin/settings", "/admin/orders/ord_1"):
        await tab.page.goto(admin + path)
        await expect(tab.page).to_have_url(f"{admin}/admin/login?next={path.replace('/', '%2F')}")
        await expect(tab.page.get_by_role("heading", name="Log in")).to_be_visible()


async def test_log_in_open_an_order_and_read_its_story(
    tab: Tab, admin: str, activity: ActivityHandle, story: Story, artifacts: Path
) -> None:
    events = story.order_with_a_failed_submission("ord_1", "SS-260223-0042")
    await activity.log(*events)
    page = tab.page
    await log_in(page, admin, "/admin/orders")
    await page.get_by_role("link", name="SS-260223-0042").click()
    await expect(page.get_by_role("heading", name="Order SS-260223-0042")).to_be_visible()

    rows = page.locator("#timeline li")
    await expect(rows).to_have_count(6)
    await expect(rows.locator(".message")).to_have_text(
        [
            "Order placed — £43.00 via Stripe",
            "Order confirmation sent to customer@example.com",
            "Submission to Printify failed: variant out of stock",
            "Submission retried — attempt 2 of 3",
            "Submitted to Printify (PFY-78299)",
            "In production at Printify",
        ]
    )
    await expect(rows.locator(".icon")).to_have_text(["●", "●", "⚠", "●", "●", "●"])
    london, now = ZoneInfo("Europe/London"), datetime.now(UTC)
    first = rows.first.locator("time")
    await expect(first).to_have_text(short_time(events[0].time, now=now, zone=london))
    await expect(first).to_have_attribute("title", full_timestamp(events[0].time, zone=london))
    # Summary, then line items, then the Activity card.
    order_of_cards = await page.locator("main h2").all_text_contents()
    assert order_of_cards == ["Summary", "Line items", "Activity", "Add a note"]

    bounce = EmailBounced.example().model_copy(update={"order_id": "ord_1"})
    await activity.log(story.at(30, bounce))
    await page.get_by_role("link", name="Refresh").click()
    await expect(rows).to_have_count(7)
    await expect(rows.last.locator(".icon")).to_have_text("⚠")
    await page.screenshot(path=str(artifacts / "order-page.png"), full_page=True)
    assert tab.errors == [] and tab.dialogs == []


async def test_feed_filters_search_and_pages(
    tab: Tab, admin: str, activity: ActivityHandle, story: Story, artifacts: Path
) -> None:
    await activity.log(*(story.at(i * 0.5, story.sync_completed(i)) for i in range(60)))
    await activity.log(
        *story.order_with_a_failed_submission("ord_1", "SS-1"),
        story.at(40, story.sync_failed("API rate limit exceeded")),
        story.at(41, EmailBounced.example()),
    )
    page = tab.page
    await log_in(page, admin)
    feed = page.locator("#feed-entries > li")
    await expect(feed).to_have_count(50)
    await expect(page.locator("#attention-badge")).to_have_text(", needs attention: 2")
    await expect(page.get_by_role("link", name="Activity , needs attention: 2")).to_be_visible()
    await page.screenshot(path=str(artifacts / "activity-feed.png"), full_page=False)
    await page.set_viewport_size({"width": 390, "height": 844})  # a phone
    await page.screenshot(path=str(artifacts / "activity-feed-phone.png"), full_page=False)
    await page.set_viewport_size({"width": 1200, "height": 900})

    await page.get_by_role("link", name="Older →").click()
    await expect(feed).to_have_count(18)  # 68 entries: 50 + 18
    await page.get_by_role("link", name="← Newer").click()
    await expect(feed).to_have_count(50)

    await page.get_by_label("Emails").check()  # filters apply when ticked
    await expect(page).to_have_url(f"{admin}/admin/activity?tab=all&category=emails&q=&from=&to=")
    await expect(feed).to_have_count(2)
    await expect(feed.locator(".event-label")).to_have_text(["Email bounced", "Confirmation email"])

    await page.get_by_role("link", name="Clear filters").click()
    await page.get_by_label("Search messages").fill("rate limit")
    await page.get_by_role("button", name="Apply").click()
    await expect(feed).to_have_count(1)
    row = feed.first
    await expect(row.locator(".icon")).to_have_css("color", "rgb(207, 34, 46)")  # red error
    await expect(row.get_by_role("button", name="Retry sync")).to_be_visible()

    await page.get_by_role("link", name="Needs attention (2)").click()
    await expect(feed).to_have_count(1)  # the tab keeps the search
    await page.get_by_role("link", name="Clear filters").click()
    await expect(page).to_have_url(f"{admin}/admin/activity?tab=attention")
    await expect(feed).to_have_count(2)
    await expect(feed.locator(".icon")).to_have_text(["⚠", "⚠"])
    bounce = feed.filter(has_text="Email bounced")
    await expect(bounce.locator(".icon")).to_have_css("color", "rgb(154, 103, 0)")  # amber

    await bounce.get_by_label("Note for entry").fill("customer fixed their address")
    await bounce.get_by_role("button", name="Resolve").click()
    await expect(bounce.locator(".notice")).to_have_text("Resolved")
    await expect(bounce.locator(".resolution")).to_contain_text("customer fixed their address")
    await expect(page.locator("[data-attention-count]").first).to_have_text("1")

    await page.get_by_role("button", name="Resolve all 2 matching").click()
    await expect(page.locator(".flash")).to_have_text("Resolved 1 entry.")
    await expect(page.locator("#attention-badge")).to_be_hidden()
    assert tab.errors == [] and tab.dialogs == []


async def test_hostile_text_renders_as_text_and_nothing_runs(
    tab: Tab, admin: str, activity: ActivityHandle, story: Story
) -> None:
    await activity.log(
        *story.order_with_a_failed_submission("ord_1", "SS-1")[:1],
        story.at(3, story.submission_failed("ord_1", HOSTILE)),
    )
    page = tab.page
    await log_in(page, admin)
    message = page.locator("#feed-entries .message").first
    await expect(message).to_have_text(f"Submission to Printify failed: {HOSTILE}")
    await page.goto(f"{admin}/admin/orders/ord_1")
    await expect(page.locator("#timeline .message").last).to_contain_text("<script>")
    await page.wait_for_timeout(300)  # give an injected onerror the chance it must not get
    assert await page.evaluate("window.__pwned") is None
    assert await page.locator("#main img, #main script").count() == 0
    assert tab.dialogs == []


async def test_a_cross_site_post_without_the_token_is_refused(
    tab: Tab, admin: str, activity: ActivityHandle, story: Story
) -> None:
    (entry_id,) = await activity.log(story.at(1, story.sync_failed()))
    page = tab.page
    await log_in(page, admin)
    # Another origin on the same host: the SameSite=Lax cookie does go with its POST,
    # so only the CSRF token stands between it and the action.
    evil = Starlette(
        routes=[
            Route(
                "/",
                lambda _: HTMLResponse(
                    f'<form id="f" method="post" action="{admin}/admin/activity/entries/'
                    f'{entry_id}/resolve"><input name="note" value="pwned"></form>'
                    "<script>document.getElementById('f').submit()</script>"
                ),
            )
        ]
    )
    async with serving(evil) as evil_url:
        async with page.expect_response(lambda r: "/resolve" in r.url) as answer:
            await page.goto(evil_url)
        assert (await answer.value).status == 403
    await expect(page.get_by_role("heading", name="Refused")).to_be_visible()
    entry = await activity.api("GET", f"/api/entries/{entry_id}")
    assert entry["needs_attention"] and entry["resolution_note"] is None


async def test_a_second_tab_logged_out_too(
    context: BrowserContext, admin: str, activity: ActivityHandle
) -> None:
    first = await open_tab(context)
    await log_in(first.page, admin)
    second = await open_tab(context)
    await second.page.goto(f"{admin}/admin/orders")
    await second.page.get_by_role("button", name="Log out").click()
    await expect(second.page).to_have_url(f"{admin}/admin/login")
    # The first tab is not touched: logging out closes its live socket (within a second,
    # activity polls for ended sessions), its token request is refused, and the page
    # reloads itself into the login form. Reloading it here would race that navigation.
    await expect(first.page.get_by_role("heading", name="Log in")).to_be_visible(timeout=30_000)
    assert first.page.url.startswith(f"{admin}/admin/login")
