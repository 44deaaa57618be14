"""Entry details and staff notes in a real browser, over real Kafka and PostgreSQL.

An order placed through Kafka is opened from the feed's "Details" link (its
coordinates, its payload as escaped JSON, its Stripe link), then a note is
added on the order's page and comes back, through the bus, onto its timeline.
"""

from __future__ import annotations

import socket
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from playwright.async_api import Page, expect

from shoptrail.activity.bootstrap import create_app as create_activity
from shoptrail.admin_ui.devtools.browser import Tab, log_in
from shoptrail.admin_ui.devtools.harness import ServeAdmin, Story
from shoptrail.admin_ui.devtools.serving import port_of, reserve_port, serving
from shoptrail.events import topics
from shoptrail.events.common import LineItem
from shoptrail.events.ingest import OrderCreated

from ..conftest import Activity, activity_settings

pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.kafka]
LIVE = 30_000  # ms: Kafka → consumer → log → browser, on a busy machine
HOSTILE = '<script>window.__pwned = "script"</script>'


@pytest.fixture
async def noting_activity(
    database_url: str, kafka_bootstrap: str, admin_socket: socket.socket
) -> AsyncIterator[Activity]:
    """Activity consuming this test's own topics, publishing notes to `<ns>.activity`."""
    namespace = f"t{uuid.uuid4().hex[:10]}"
    names = [
        t.replace("shoptrail.", f"{namespace}.", 1)
        for t in (topics.INGEST, topics.FULFILMENT, topics.NOTIFIER, topics.ACTIVITY)
    ]
    kafka = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await kafka.start()
    await kafka.create_topics([NewTopic(n, 3, 1) for n in names])
    sock = reserve_port()
    settings = activity_settings(
        database_url, kafka_bootstrap, port_of(admin_socket), namespace, port=port_of(sock)
    ).model_copy(update={"notes_topic": names[-1]})
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(database_url)
    try:
        async with serving(create_activity(settings), sock) as url:
            yield Activity(url, engine, kafka_bootstrap, namespace)
    finally:
        await engine.dispose()
        sock.close()
        await kafka.delete_topics(names)
        await kafka.close()


async def shoot(page: Page, folder: Path, name: str) -> None:
    """The page at phone and desktop width."""
    for width, label in ((390, "phone"), (1280, "desktop")):
        await page.set_viewport_size({"width": width, "height": 900})
        await page.screenshot(path=str(folder / f"{name}-{label}.png"), full_page=True)


async def test_open_an_entrys_details_from_the_feed_then_add_a_note_to_its_order(
    tab: Tab, serve_admin: ServeAdmin, noting_activity: Activity, story: Story, artifacts: Path
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
    await noting_activity.publish(story.at(0, created))
    admin = await serve_admin(noting_activity)
    page = tab.page
    await log_in(page, admin)

    row = page.locator("#feed-entries > li").filter(has_text="Order placed")
    await expect(row).to_have_count(1, timeout=LIVE)
    await row.get_by_role("link", name="Details").click()
    await expect(page.get_by_role("heading", name="Order placed")).to_be_visible()
    await expect(page.locator(".detail-message")).to_contain_text("Order placed — £43.00")
    topic = f"{noting_activity.namespace}.ingest"
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
