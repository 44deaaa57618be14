"""Entry details and staff notes in a real browser, over real Kafka and PostgreSQL.

An order placed through Kafka is opened from the feed's "Details" link (its
coordinates, its payload as escaped JSON, its Stripe link), then a note is
added on the order's page and comes back, through the bus, onto its timeline.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from shoptrail.admin_ui.devtools.browser import Tab, log_in
from shoptrail.admin_ui.devtools.harness import ServeAdmin, Story
from shoptrail.events.common import LineItem
from shoptrail.events.ingest import OrderCreated

from ..conftest import Activity

pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.kafka]
LIVE = 30_000  # ms: Kafka → consumer → log → browser, on a busy machine
HOSTILE = "<script>window.__pwned = 1</script><img src=x onerror='window.__pwned = 2'>"


async def shoot(page: Page, folder: Path, name: str) -> None:
    """The page at phone and desktop width."""
    for width, label in ((390, "phone"), (1280, "desktop")):
        await page.set_viewport_size({"width": width, "height": 900})
        await page.screenshot(path=str(folder / f"{name}-{label}.png"), full_page=True)


async def test_open_an_entrys_details_from_the_feed_then_add_a_note_to_its_order(
    tab: Tab, serve_admin: ServeAdmin, live_activity: Activity, story: Story, artifacts: Path
) -> None:
    screenshots = artifacts / "screenshots"
    screenshots.mkdir(exist_ok=True)
    base = OrderCreated.example()
    item = base.line_items[0].model_copy(update={"name": f"Mug {HOSTILE}"})
    created = base.model_copy(
        update={
            "order_id": "ord_notes_1",
            "order_number": "SS-261204-N001",
            "checkout_session_id": "cs_test_b1Notes",
            "line_items": (LineItem.model_validate(item.model_dump()),),
        }
    )
    await live_activity.publish(story.at(0, created))
    admin = await serve_admin(live_activity)
    page = tab.page
    await log_in(page, admin)

    row = page.locator("#feed-entries > li").filter(has_text="Order placed")
    await expect(row).to_have_count(1, timeout=LIVE)
    await row.get_by_role("link", name="Details").click()
    await expect(page.get_by_role("heading", name="Order placed")).to_be_visible()
    await expect(page.locator(".detail-message")).to_contain_text("Order placed — £43.00")
    topic = f"{live_activity.namespace}.ingest"
    await expect(page.locator(".kafka-coordinates")).to_contain_text(f"{topic} · partition ")
    await expect(page.locator("pre.payload")).to_contain_text(f'"name": "Mug {HOSTILE}"')
    await expect(page.locator("pre.payload script")).to_have_count(0)  # text, not markup
    stripe = page.get_by_role("link", name="Checkout session in Stripe")
    await expect(stripe).to_have_attribute(
        "href", "https://dashboard.stripe.com/test/checkout/sessions/cs_test_b1Notes"
    )
    await shoot(page, screenshots, "entry-details")

    await page.get_by_role("link", name="Order SS-261204-N001").click()
    await expect(page.get_by_role("heading", name="Order SS-261204-N001")).to_be_visible()
    await page.get_by_label("Note for the timeline").fill(f"Customer called {HOSTILE}")
    await page.get_by_role("button", name="Add note").click()
    await expect(page.locator(".flash")).to_have_text("Note added.")
    note = page.locator("#timeline li").filter(has_text="Note by admin")
    for _ in range(3):  # the note arrives through Kafka: live, or on the next look
        try:
            await expect(note).to_have_count(1, timeout=LIVE // 3)
            break
        except AssertionError:
            await page.reload()
    await expect(note.locator(".message")).to_have_text(f"Note by admin: Customer called {HOSTILE}")
    await shoot(page, screenshots, "order-note")
    assert await page.evaluate("window.__pwned === undefined")
    assert tab.errors == [] and tab.dialogs == []
