"""Live updates in a real browser: Kafka → activity → WebSocket → the open pages."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import BrowserContext, Page, Route, expect

from shoptrail.admin_ui.devtools.browser import Tab, log_in, open_tab
from shoptrail.admin_ui.devtools.feedwatch import (
    quantile,
    start_watching,
    until,
    watched,
    write_steadily,
)
from shoptrail.admin_ui.devtools.harness import ActivityHandle, ServeAdmin, Story
from shoptrail.events import EventData
from shoptrail.events.fulfilment import OrderShipped, OrderSubmissionFailed

pytestmark = [
    pytest.mark.browser,
    pytest.mark.postgres,
    pytest.mark.kafka,
]
LIVE = 30_000  # ms: Kafka → consumer → hub → browser, on a busy machine
WINDOW = 150  # rows a feed page keeps while its reader stays at the top (admin.js)


async def connected(page: Page) -> None:
    await expect(page.locator("#live-state")).to_have_attribute("data-state", "open")


async def test_an_error_appears_live_and_resolving_it_in_another_tab_lowers_the_badge(
    context: BrowserContext, serve_admin: ServeAdmin, live_activity: ActivityHandle, story: Story
) -> None:
    admin = await serve_admin(live_activity)
    first = await open_tab(context)
    await log_in(first.page, admin)
    await connected(first.page)
    badge = first.page.locator("#attention-badge")
    await expect(badge).to_be_hidden()
    await first.page.evaluate("window.__sameDocument = true")

    await live_activity.publish(story.at(5, story.sync_failed("API rate limit exceeded")))
    row = first.page.locator("#feed-entries > li").first
    await expect(row.locator(".message")).to_have_text(
        "Product sync failed: API rate limit exceeded", timeout=LIVE
    )
    await expect(badge).to_be_visible()
    await expect(badge.locator("[data-attention-count]")).to_have_text("1")
    assert await first.page.evaluate("window.__sameDocument") is True  # no reload happened

    second = await open_tab(context)
    await second.page.goto(f"{admin}/admin/activity?tab=attention")
    await second.page.get_by_role("button", name="Resolve", exact=True).click()
    await expect(second.page.locator(".notice")).to_have_text("Resolved")

    await expect(badge).to_be_hidden(timeout=LIVE)
    await expect(row.locator(".resolution")).to_contain_text("Resolved", timeout=LIVE)
    assert first.errors == [] and first.dialogs == []


async def test_new_entries_wait_in_a_bar_while_the_reader_is_further_down(
    tab: Tab, serve_admin: ServeAdmin, live_activity: ActivityHandle, story: Story
) -> None:
    admin = await serve_admin(live_activity)
    await live_activity.log(*(story.at(i, story.sync_completed(i)) for i in range(40)))
    page = tab.page
    await log_in(page, admin)
    await connected(page)
    rows = page.locator("#feed-entries > li")
    await expect(rows).to_have_count(40)
    await rows.last.scroll_into_view_if_needed()
    top_before = await rows.first.get_attribute("data-entry-id")

    await live_activity.publish(
        *(story.at(100 + i, story.sync_failed(f"failure {i}")) for i in range(3))
    )
    bar = page.get_by_role("button", name="3 new entries")
    await expect(bar).to_be_visible(timeout=LIVE)
    assert await rows.first.get_attribute("data-entry-id") == top_before  # place kept
    await bar.click()
    await expect(rows).to_have_count(43)
    await expect(rows.first.locator(".message")).to_have_text("Product sync failed: failure 2")
    await expect(page.locator("#new-entries")).to_be_hidden()


async def test_an_open_order_page_follows_its_order(
    tab: Tab, serve_admin: ServeAdmin, live_activity: ActivityHandle, story: Story
) -> None:
    admin = await serve_admin(live_activity)
    await live_activity.log(*story.order_with_a_failed_submission("ord_1", "SS-1"))
    page = tab.page
    await log_in(page, admin, "/admin/orders/ord_1")
    await connected(page)
    await expect(page.locator("#timeline li")).to_have_count(6)

    shipped = OrderShipped.example().model_copy(update={"order_id": "ord_1"})
    await live_activity.publish(story.at(60, shipped))
    await expect(page.locator("#timeline li")).to_have_count(7, timeout=LIVE)
    await expect(page.locator("#timeline li .message").last).to_contain_text("Shipped via DHL")
    await expect(page.locator("#order-summary .status")).to_have_text("Shipped")


@pytest.mark.parametrize("first", ["the action's answer", "the live update"])
async def test_resolving_a_row_shows_its_notice_whichever_arrives_first(
    tab: Tab, serve_admin: ServeAdmin, live_activity: ActivityHandle, story: Story, first: str
) -> None:
    """Resolve answers with the re-rendered row; the live push re-renders it too. Either order
    ends with the resolved row and the reader's "Resolved" notice."""
    admin = await serve_admin(live_activity)
    await live_activity.log(story.at(5, story.sync_failed("API rate limit exceeded")))
    page = tab.page
    body = page.locator("body")
    await log_in(page, admin, "/admin/activity?tab=attention")
    await connected(page)
    await expect(body).to_have_attribute("data-feed-updates", "1")  # the catch-up after hello
    applied_live = re.compile(r"^(?!1$)\d+$")  # any count past that one

    async def answer_after_the_live_update(route: Route) -> None:
        response = await route.fetch()  # the resolve has committed: its push is on the way
        await expect(body).to_have_attribute("data-feed-updates", applied_live, timeout=LIVE)
        await route.fulfill(response=response)

    if first == "the live update":
        await page.route("**/resolve", answer_after_the_live_update)
    row = page.locator("#feed-entries > li").first
    await row.get_by_label("Note for entry").fill("provider back up")
    await row.get_by_role("button", name="Resolve").click()
    await expect(body).to_have_attribute("data-feed-updates", applied_live, timeout=LIVE)

    await expect(row.locator(".resolution")).to_contain_text("provider back up")
    await expect(row.locator(".notice")).to_have_text("Resolved")
    await expect(page.locator("#attention-badge")).to_be_hidden()
    assert tab.errors == [] and tab.dialogs == []


# ---- a steady stream: every entry, once, in order, within a second ------------------------

RATE = 20  # entries a second: a busy hour of a busy shop
STREAM_S = 60
SETTLE_S = 30  # after the stream, how long the last rows may take on a loaded machine


async def test_a_steady_stream_shows_every_entry_once_in_order_within_a_second(
    tab: Tab, serve_admin: ServeAdmin, activity: ActivityHandle
) -> None:
    admin = await serve_admin(activity)
    page = tab.page
    await log_in(page, admin)
    await connected(page)
    await start_watching(page)

    committed = await write_steadily(activity.log, RATE, STREAM_S)

    async def all_seen() -> bool:
        return len((await watched(page, committed)).seen) == len(committed)

    await until(all_seen, SETTLE_S)
    seen = await watched(page, committed)
    delays = seen.delays
    print(
        f"\n{len(seen.seen)}/{len(committed)} entries seen at {RATE}/s; commit → row "
        f"p50 {quantile(delays, 0.5):.3f} s, p99 {quantile(delays, 0.99):.3f} s, "
        f"max {max(delays):.3f} s; at most {seen.max_rows} rows on the page"
    )
    assert len(committed) == RATE * STREAM_S
    assert seen.seen == set(committed), f"{len(committed) - len(seen.seen)} never appeared"
    assert seen.again == [] and seen.duplicates == 0  # each exactly once
    assert seen.disorder == 0  # always in the feed's order
    assert quantile(delays, 0.99) <= 1.0
    assert seen.max_rows <= WINDOW  # a bounded page: old rows leave as new ones come
    assert tab.errors == []


async def test_a_reader_further_down_is_told_the_exact_count_and_keeps_their_place(
    tab: Tab, serve_admin: ServeAdmin, activity: ActivityHandle, story: Story
) -> None:
    admin = await serve_admin(activity)
    await activity.log(*(story.at(i, story.sync_completed(i)) for i in range(60)))
    page = tab.page
    await log_in(page, admin)
    await connected(page)
    rows = page.locator("#feed-entries > li")
    await expect(rows).to_have_count(50)
    await rows.last.scroll_into_view_if_needed()
    top_before = await rows.first.get_attribute("data-entry-id")
    await start_watching(page)

    committed = await write_steadily(activity.log, RATE, STREAM_S)
    bar = page.locator("#show-new-entries")
    await expect(bar).to_have_text(f"{len(committed)} new entries", timeout=SETTLE_S * 1000)

    seen = await watched(page, committed)
    delays = seen.bar_delays()
    print(
        f"\nbar counted {seen.bar_count()}/{len(committed)} at {RATE}/s; commit → counted "
        f"p50 {quantile(delays, 0.5):.3f} s, p99 {quantile(delays, 0.99):.3f} s"
    )
    assert seen.seen == set()  # nothing moved under the reader
    assert await rows.first.get_attribute("data-entry-id") == top_before
    assert len(delays) == len(committed) and quantile(delays, 0.99) <= 1.0

    await bar.click()  # more than a page waits: a fresh first page, newest first
    newest = max(committed, key=lambda i: (committed[i], i))
    await expect(rows.first).to_have_attribute("data-entry-id", str(newest))
    await expect(page.locator("#new-entries")).to_be_hidden()
    assert tab.errors == []


async def test_a_filtered_page_gains_only_the_rows_its_filters_match(
    tab: Tab, serve_admin: ServeAdmin, activity: ActivityHandle, story: Story
) -> None:
    admin = await serve_admin(activity)
    page = tab.page
    await log_in(page, admin, "/admin/activity?tab=attention")
    await connected(page)
    body = page.locator("body")
    await expect(body).to_have_attribute("data-feed-updates", "1")  # the catch-up after hello
    mixed: list[EventData] = [
        story.sync_completed(i) if i % 3 else story.submission_failed(f"ord_{i}", "no stock")
        for i in range(12)
    ]
    ids = await activity.log(*(story.at(200 + i, data) for i, data in enumerate(mixed)))
    errors = [
        i for i, data in zip(ids, mixed, strict=True) if isinstance(data, OrderSubmissionFailed)
    ]
    rows = page.locator("#feed-entries > li")
    await expect(rows).to_have_count(len(errors), timeout=LIVE)
    shown = [int(i or 0) for i in await rows.evaluate_all("rs => rs.map(r => r.dataset.entryId)")]
    assert shown == sorted(errors, reverse=True)
    assert tab.errors == []


async def test_after_a_rebuild_the_page_starts_again_from_a_fresh_first_page(
    tab: Tab, serve_admin: ServeAdmin, activity: ActivityHandle, story: Story
) -> None:
    """Replay rebuilds the log (entry ids change): rows cannot be patched, the list is
    replaced by a fresh first page, and live updates go on from there."""
    from shoptrail.activity.adapters.store import record_change

    admin = await serve_admin(activity)
    await activity.log(*(story.at(i, story.sync_completed(i)) for i in range(3)))
    page = tab.page
    await log_in(page, admin)
    await connected(page)
    body = page.locator("body")
    await expect(body).to_have_attribute("data-feed-updates", "1")
    await page.evaluate("window.__sameDocument = true")
    async with activity.engine.begin() as conn:
        await record_change(conn, [], kind="reload")
    after = await activity.log(story.at(100, story.sync_failed("after the rebuild")))
    rows = page.locator("#feed-entries > li")
    await expect(rows.first).to_have_attribute("data-entry-id", str(after[0]), timeout=LIVE)
    await expect(rows).to_have_count(4)
    assert await page.evaluate("window.__sameDocument") is True  # the list, not the page
    assert tab.errors == []
