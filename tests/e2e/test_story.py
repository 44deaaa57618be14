"""Issue 9's end-to-end story, with everything real and the shop started from the launcher.

In order, on one shop (`launched_shop`: every process of `make dev`, private
ports, Kafka, PostgreSQL and state):

1. A signed Stripe checkout completes; the order page, open in Chromium, shows
   it placed, confirmed and submitted within seconds, then follows the
   provider's production, shipping and delivery webhooks live. Both emails are
   in the SMTP sink.
2. The provider refuses every submission: the failures, the retries and the
   give-up appear, raise the badge and fill "Needs attention"; with the
   provider healthy again, "Retry submission" in the browser gets the order
   through and every error resolves itself.
3. Activity is stopped, its database emptied, the log replayed from the
   topics: the feed is the same as before.
4. One order is one trace across every process.
5. Every record on the bus reads right with the official CloudEvents SDK and
   validates against its published schema, and no other.

Screenshots go to `test-artifacts/e2e-*.png`.
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import dev
import httpx
import pytest
import senders
from cloudevents.core.bindings.kafka import KafkaMessage, from_kafka
from cloudevents.core.formats.json import JSONFormat
from demo_doors import Shop
from jsonschema import Draft202012Validator
from playwright.async_api import BrowserContext, Locator, Page, expect
from senders import Checkout, Customer, Item, Status
from sqlalchemy.engine import make_url

from shoptrail.admin_ui.devtools.browser import Tab, open_tab
from shoptrail.events.reading import records_to_end
from shoptrail.testing.otlp import ReceivedSpan, Receiver, tree
from tests.e2e.launcher import LaunchedShop

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.kafka,
    pytest.mark.postgres,
    pytest.mark.timeout(240),
]

LIVE = 30_000
"""ms: webhook → ingest → Kafka → service → outbox → Kafka → activity → WebSocket → page."""
WITHIN_SECONDS = 20.0
"""The order placed, confirmed and submitted on screen, after Stripe's webhook was accepted."""
STORY: dict[str, Checkout] = {}
"""The orders the stories placed, by story (the replay test looks them up)."""


def buyer(name: str) -> Customer:
    tag = secrets.token_hex(3)
    first = name.split()[0].lower()
    return Customer(name, f"{first}.{tag}@example.com", "12 Mill Lane", "Bristol", "BS1 4DJ")


class ActivityApi:
    """The activity service's API with the service token (what the admin UI reads)."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def get(self, path: str, **params: Any) -> Any:
        response = await self.http.get(path, params=params)
        response.raise_for_status()
        return response.json()

    async def timeline(self, order_id: str) -> list[dict[str, Any]]:
        entries: list[dict[str, Any]] = await self.get(
            f"/api/orders/{order_id}/timeline", include_debug="true"
        )
        return entries

    async def whole_feed(self) -> list[dict[str, Any]]:
        """Every entry, debug included, newest first, following the cursor to the end."""
        entries: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            params: dict[str, Any] = {"include_debug": "true", "limit": 200}
            if cursor:
                params["after"] = cursor
            page = await self.get("/api/feed", **params)
            entries.extend(page["entries"])
            cursor = page["older"]
            if not cursor:
                return entries

    async def attention(self) -> int:
        """The badge: open problems (groups of entries alike)."""
        count: int = (await self.get("/api/attention/count"))["count"]
        return count

    async def attention_entries(self) -> int:
        """The open warning and error entries behind the badge's problems."""
        count: int = (await self.get("/api/attention/counts"))["entries"]
        return count

    async def wait_for_order(self, order_id: str, timeout: float = 20) -> None:
        """Until the log knows the order (its page exists)."""
        deadline = time.monotonic() + timeout
        while (await self.http.get(f"/api/orders/{order_id}")).status_code != 200:
            assert time.monotonic() < deadline, f"activity never recorded {order_id}"
            await asyncio.sleep(0.2)


@pytest.fixture
async def api(launched_shop: LaunchedShop) -> AsyncIterator[ActivityApi]:
    token = dev.DEV_SECRETS["activity_token"]
    async with httpx.AsyncClient(
        base_url=launched_shop.urls["activity"],
        headers={"Authorization": f"Bearer {token}"},
        timeout=15,
    ) as http:
        yield ActivityApi(http)


@pytest.fixture
async def doors(launched_shop: LaunchedShop) -> AsyncIterator[Shop]:
    """Webhooks in, the fake provider's controls: the demo's doors."""
    async with Shop(launched_shop.doors()) as shop:
        yield shop


@pytest.fixture
async def tab(e2e_context: BrowserContext, launched_shop: LaunchedShop) -> Tab:
    """A tab logged in to the admin UI with the dev account (it lands on the feed)."""
    opened = await open_tab(e2e_context)
    admin = launched_shop.urls["admin-ui"]
    user, password = dev.ADMIN_LOGIN
    await opened.page.goto(f"{admin}/admin/activity")
    await opened.page.get_by_label("User name").fill(user)
    await opened.page.get_by_label("Password").fill(password)
    await opened.page.get_by_role("button", name="Log in").click()
    await opened.page.wait_for_url(f"{admin}/admin/activity")
    return opened


async def open_order_page(page: Page, admin: str, order_id: str) -> Locator:
    """The order's page, connected to the live stream; its timeline's messages."""
    await page.goto(f"{admin}/admin/orders/{order_id}")
    await expect(page.locator("#live-state")).to_have_attribute("data-state", "open")
    await page.evaluate("window.__sameDocument = true")
    return page.locator("#timeline li .message")


def starting(text: str) -> re.Pattern[str]:
    return re.compile("^" + re.escape(text))


async def still_same_document(page: Page) -> bool:
    """No navigation or reload happened since `open_order_page`."""
    return bool(await page.evaluate("window.__sameDocument === true"))


async def mail_to(shop: LaunchedShop, recipient: str, subjects: set[str]) -> set[str]:
    """Subjects of the SMTP sink's messages to `recipient`, once all of `subjects` arrived."""
    deadline = time.monotonic() + 30
    async with httpx.AsyncClient(timeout=10) as http:
        while True:
            messages = (await http.get(f"{shop.urls['mail']}/api/messages")).json()
            got = {m["subject"] for m in messages if recipient in m["recipients"]}
            if subjects <= got or time.monotonic() > deadline:
                return got
            await asyncio.sleep(0.5)


async def test_1_a_paid_order_is_followed_to_delivery_on_its_open_page(
    launched_shop: LaunchedShop, tab: Tab, api: ActivityApi, doors: Shop, artifacts: Path
) -> None:
    admin = launched_shop.urls["admin-ui"]
    page = tab.page
    order = Checkout(
        customer=buyer("Ada Okafor"),
        items=(Item("pfy-tee-sunset", "Sunset Tee", 2500, "M / Navy"),),
        provider="Printify",
    )
    STORY["delivered"] = order
    assert order.customer is not None

    paid = time.monotonic()
    await doors.stripe(order, senders.checkout_completed(order))  # raises unless ingest accepted it
    await api.wait_for_order(order.order_id)
    messages = await open_order_page(page, admin, order.order_id)
    for first_steps in (
        "Order placed — £25.00",
        "Order confirmation sent",
        "Submitted to Printify",
    ):
        await expect(messages.filter(has_text=starting(first_steps))).to_have_count(1, timeout=LIVE)
    took = time.monotonic() - paid
    assert took < WITHIN_SECONDS, f"placed, confirmed and submitted on screen after {took:.1f}s"

    at_provider = await doors.provider_order(order.order_id)
    number = f"1Z{order.order_id[-6:].upper()}{str(at_provider['id'])[-4:]}"  # as move_at_provider
    shown_after: dict[Status, str] = {
        "in_production": "In production at Printify",
        "shipped": f"Shipped via DHL — tracking: {number}",
        "delivered": "Delivered",
    }
    for status, text in shown_after.items():
        await doors.move_at_provider(order, at_provider, status)
        await expect(messages.filter(has_text=starting(text))).to_have_count(1, timeout=LIVE)
    shipping_mail = f"Shipping notification sent to {order.customer.email}"
    await expect(messages.filter(has_text=starting(shipping_mail))).to_have_count(1, timeout=LIVE)
    await expect(page.locator("#order-summary .status")).to_have_text("Delivered")
    assert await still_same_document(page), "the page reloaded instead of updating live"

    # Fulfilment's steps in their order; the emails beside them.
    shown = await messages.all_inner_texts()
    steps = ["Order placed", "Submitted to Printify", *shown_after.values()]
    positions = [next(i for i, m in enumerate(shown) if m.startswith(s)) for s in steps]
    assert positions == sorted(positions), shown

    subjects = {
        f"Thank you for your order {order.order_number}",
        f"Your order {order.order_number} is on its way",
    }
    assert subjects <= await mail_to(launched_shop, order.customer.email, subjects)

    await page.screenshot(path=artifacts / "e2e-1-order-delivered.png", full_page=True)
    assert tab.errors == [] and tab.dialogs == []


async def test_2_a_refused_submission_needs_attention_until_retry_submission_gets_it_through(
    launched_shop: LaunchedShop, tab: Tab, api: ActivityApi, doors: Shop, artifacts: Path
) -> None:
    admin = launched_shop.urls["admin-ui"]
    page = tab.page
    badge = page.locator("#attention-badge")
    await expect(badge).to_be_hidden()
    order = Checkout(
        customer=buyer("Ben Nguyen"),
        items=(Item("pf-hoodie-wave", "Wave Hoodie", 4500, "M / Black"),),
        provider="Printful",
    )
    STORY["retried"] = order
    refusal = "Bad gateway from the print provider"

    # The provider refuses every submission until told otherwise.
    await doors.plan_fault(
        kind="error", operation="create_order", times=1000, status=502, message=refusal
    )
    try:
        await doors.stripe(order, senders.checkout_completed(order))
        await api.wait_for_order(order.order_id)
        messages = await open_order_page(page, admin, order.order_id)
        failed = messages.filter(has_text=starting("Submission to Printful failed"))
        await expect(failed).to_have_count(3, timeout=LIVE)
        for attempt in (2, 3):
            retried = f"Submission retried — attempt {attempt} of 3"
            await expect(messages.filter(has_text=starting(retried))).to_have_count(1)
        gave_up = messages.filter(has_text=starting("Job submit_order gave up after 3 attempts"))
        await expect(gave_up).to_have_count(1, timeout=LIVE)
        await expect(failed.first).to_contain_text(refusal)

        # Three failures and the give-up: four errors in two problems (the three failures
        # alike fold into one group), the badge raised live and counting problems.
        await expect(badge).to_be_visible(timeout=LIVE)
        await expect(badge.locator("[data-attention-count]")).to_have_text("2")
        assert await api.attention() == 2
        assert await api.attention_entries() == 4
        assert await still_same_document(page)

        await page.locator("#nav-activity").click()
        await page.get_by_role("link", name=re.compile(r"^Needs attention")).click()
        await expect(page).to_have_url(f"{admin}/admin/activity?tab=attention")
        order_link = page.locator(f'a.order-link[href="/admin/orders/{order.order_id}"]')
        rows = page.locator("#feed-entries > li").filter(has=order_link)
        await expect(rows).to_have_count(4)
        await page.screenshot(path=artifacts / "e2e-2-needs-attention.png", full_page=True)
    finally:
        # The provider is healthy again.
        response = await doors.http.delete(f"{launched_shop.urls['fake-provider']}/_fake/faults")
        response.raise_for_status()

    retry_buttons = rows.get_by_role("button", name="Retry submission")
    await expect(retry_buttons).to_have_count(3)  # on each failed submission, not the give-up
    await retry_buttons.first.click()
    await expect(page.get_by_text("Retry queued")).to_be_visible()

    # order.submitted resolves every error of the order; the badge drops, live.
    await expect(badge).to_be_hidden(timeout=LIVE)
    await expect(rows.locator(".resolution")).to_have_count(4, timeout=LIVE)
    for resolution in await rows.locator(".resolution").all_inner_texts():
        assert resolution.startswith("Resolved automatically"), resolution
    assert await api.attention() == 0
    assert await api.attention_entries() == 0
    problems = [e for e in await api.timeline(order.order_id) if e["level"] in ("warning", "error")]
    assert len(problems) == 4
    assert {e["resolution"] for e in problems} == {"auto"}
    await page.screenshot(path=artifacts / "e2e-2-resolved.png", full_page=True)

    messages = await open_order_page(page, admin, order.order_id)
    await expect(messages.filter(has_text=starting("Submitted to Printful"))).to_have_count(1)
    provider_orders = (
        await doors.http.get(f"{launched_shop.urls['fake-provider']}/_fake/orders")
    ).json()
    assert [o["external_id"] for o in provider_orders].count(order.order_id) == 1
    await page.screenshot(path=artifacts / "e2e-2-order-recovered.png", full_page=True)
    assert tab.errors == [] and tab.dialogs == []


SAME_AFTER_REPLAY = (
    "event_id",
    "event_type",
    "source",
    "category",
    "level",
    "order_id",
    "message",
    "payload",
    "correlation_id",
    "trace_id",
    "occurred_at",
    "resolution",
    "needs_attention",
)
"""What the topics decide. Not entry ids (new rows), insert or resolution times (the
replay's clock), nor manual resolutions (not in the topics; these stories made none)."""


async def settled_feed(api: ActivityApi, quiet: float = 3.0) -> list[dict[str, Any]]:
    """The whole feed once it stopped changing for `quiet` seconds (outboxes drained)."""
    before = await api.whole_feed()
    deadline = time.monotonic() + 30
    while True:
        await asyncio.sleep(quiet)
        now = await api.whole_feed()
        if now == before or time.monotonic() > deadline:
            return now
        before = now


def comparable(feed: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {e["event_id"]: {k: e[k] for k in SAME_AFTER_REPLAY} for e in feed}


async def test_3_a_replay_into_an_emptied_database_gives_back_the_same_feed(
    launched_shop: LaunchedShop, api: ActivityApi
) -> None:
    assert set(STORY) == {"delivered", "retried"}, "runs after the two stories (same module)"
    before = await settled_feed(api)
    types = {e["event_type"] for e in before}
    assert {"order.delivered", "job.exhausted", "provider.status_reported"} <= types, types
    orders_before = {o: await api.get(f"/api/orders/{c.order_id}") for o, c in STORY.items()}

    # uvicorn shuts down cleanly, then re-raises the SIGTERM it caught.
    assert await launched_shop.stop("activity") in (0, -signal.SIGTERM)
    assert "Application shutdown complete" in launched_shop.log_tail("activity", 1000)
    database_url = launched_shop.planned["activity"].env["ACTIVITY_DATABASE_URL"]
    dsn = make_url(database_url).set(drivername="postgresql")
    db = await asyncpg.connect(dsn.render_as_string(hide_password=False))
    try:
        # A lost database: nothing of the log, its read models or its migrations is left.
        await db.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
        assert await db.fetchval("SELECT to_regclass('activity_log')") is None
    finally:
        await db.close()

    migrated = await launched_shop.run("activity", "migrate")
    assert migrated.code == 0, migrated.stderr
    replayed = await launched_shop.run("activity", "replay", timeout=120)
    assert replayed.code == 0, f"{replayed.stdout}\n{replayed.stderr}"
    print(replayed.stderr, replayed.stdout, sep="\n")  # shown with -s, or on failure

    # The progress bar's last line (stderr) and the counts (stdout).
    progress = re.findall(r"replay \[#+\]\s+100\.0% ([\d,]+)/([\d,]+) read", replayed.stderr)
    assert progress, replayed.stderr
    read, expected = (int(n.replace(",", "")) for n in progress[-1])
    assert read == expected
    counts = re.search(
        r"read ([\d,]+) · inserted ([\d,]+) · duplicates ([\d,]+) · dead-lettered ([\d,]+)",
        replayed.stdout,
    )
    assert counts, replayed.stdout
    total, inserted, duplicates, dead = (int(n.replace(",", "")) for n in counts.groups())
    assert total == read
    assert inserted == len(before), replayed.stdout
    assert total == inserted + duplicates and dead == 0
    topics_line = next(line for line in replayed.stdout.splitlines() if line.startswith("topics:"))
    for topic in dev.EVENT_TOPICS:
        assert topic in topics_line
    assert "0 manual resolutions kept" in replayed.stdout

    launched_shop.start("activity")
    await launched_shop.wait_ready(["activity"])
    after = await settled_feed(api, quiet=1.0)

    assert len(after) == len(before)
    assert comparable(after) == comparable(before)
    assert await api.attention() == 0
    orders_after = {o: await api.get(f"/api/orders/{c.order_id}") for o, c in STORY.items()}
    changed = {
        (story, key): (was, orders_after[story][key])
        for story, order in orders_before.items()
        for key, was in order.items()
        if orders_after[story][key] != was and key != "updated_at"  # the writer's clock
    }
    assert changed == {}


async def test_4_one_order_is_one_trace_across_every_service(
    launched_shop: LaunchedShop, api: ActivityApi, doors: Shop, otlp: Receiver, artifacts: Path
) -> None:
    """A Stripe webhook through ingest → Kafka → fulfilment → its job → the provider →
    notifier → its job → SMTP → activity: every step a span of one trace, exported over
    OTLP by each process, and the log's entries name that trace. (The webhook's server
    span is FastAPI's own; the rest are shoptrail.events.tracing's and FastStream's.)"""
    order = Checkout(
        customer=buyer("Grace Hopper"),
        items=(Item("pfy-tee-sunset", "Sunset Tee", 2500, "M / Navy"),),
        provider="Printify",
    )
    await doors.stripe(order, senders.checkout_completed(order))
    await api.wait_for_order(order.order_id)
    first_steps = ("Order placed", "Order confirmation sent", "Submitted to Printify")
    deadline = time.monotonic() + LIVE / 1000
    while True:
        timeline = await api.timeline(order.order_id)
        steps = {
            step: entry
            for entry in timeline
            for step in first_steps
            if entry["message"].startswith(step)
        }
        if len(steps) == len(first_steps) or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.2)
    assert set(steps) == set(first_steps), [e["message"] for e in timeline]
    trace_ids = {step: entry["trace_id"] for step, entry in steps.items()}
    trace_id = trace_ids["Order placed"]
    assert trace_id and re.fullmatch(r"[0-9a-f]{32}", trace_id)
    assert set(trace_ids.values()) == {trace_id}, trace_ids

    # (the processes that may do it, the span): an outbox is relayed by whichever of the
    # service's processes holds its lock, the app's or the worker's.
    fulfilment, notifier = ("fulfilment", "fulfilment-worker"), ("notifier", "notifier-worker")
    wanted = {
        (("ingest",), "POST /webhooks/stripe"),
        (("ingest",), "shoptrail.ingest publish"),
        (("fulfilment",), "shoptrail.ingest process"),
        (("fulfilment-worker",), "job submit_order"),
        (("fulfilment-worker",), "Printify POST"),
        (fulfilment, "shoptrail.fulfilment publish"),
        (("notifier",), "shoptrail.ingest process"),
        (("notifier-worker",), "job notifier.send_email"),
        (("notifier-worker",), "smtp send"),
        (notifier, "shoptrail.notifier publish"),
        (("activity",), "activity log"),
    }

    def missing(spans: list[ReceivedSpan]) -> set[tuple[tuple[str, ...], str]]:
        """The steps with no successful span yet (a loaded machine may make one retry:
        that failed attempt is in the trace too, marked, as it should be)."""
        done = {(s.service, s.name) for s in spans if not s.error}
        return {(who, name) for who, name in wanted if not any((w, name) in done for w in who)}

    deadline = time.monotonic() + 60  # each process exports every 0.5 s; the shop is loaded
    while True:
        spans = otlp.spans(trace_id)
        if not missing(spans) or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.5)
    drawn = tree(spans)
    (artifacts / "e2e-trace.txt").write_text(drawn + "\n")
    assert not missing(spans), f"missing {sorted(missing(spans))} in:\n{drawn}"
    ids = {s.span_id for s in spans}
    roots = [s for s in spans if s.parent_id not in ids]
    assert [(r.service, r.name) for r in roots] == [("ingest", "POST /webhooks/stripe")], drawn


async def test_5_every_record_the_shop_wrote_reads_right_with_third_party_tools(
    launched_shop: LaunchedShop,
) -> None:
    """Every record the stories left on the bus, read as a tool nobody here wrote reads it:
    the official CloudEvents SDK's auto-detecting Kafka reader, and a generic JSON Schema
    validator with the published schemas (which must match its own type's, and no other)."""
    schemas = {
        json.loads(path.read_text())["title"]: Draft202012Validator(json.loads(path.read_text()))
        for path in sorted(SCHEMAS.glob("*.json"))
    }
    # Read as a tool granted what activity may read (the bus is guarded in this suite).
    records = await records_to_end(launched_shop.kafka_as("activity"), dev.EVENT_TOPICS)
    seen = {dict(r.headers).get("shoptrail-event-type", b"").decode() for r in records}
    assert {"order.created", "order.delivered", "job.exhausted"} <= seen, "the stories' records"
    parsed = validated = cross_matches = 0
    types: set[str] = set()
    for record in records:
        headers = dict(record.headers)
        theirs = from_kafka(
            KafkaMessage(headers=headers, key=record.key, value=record.value), JSONFormat()
        )
        parsed += 1
        body = json.loads(record.value)
        type_ = theirs.get_type()
        assert headers["shoptrail-event-type"] == type_.encode()
        errors = [e.message for e in schemas[type_].iter_errors(body)]
        assert errors == [], f"{type_} at {record.topic}:{record.offset}: {errors[:3]}"
        validated += 1
        cross_matches += sum(
            1 for other, schema in schemas.items() if other != type_ and schema.is_valid(body)
        )
        types.add(type_)
    print(
        f"third-party readers: {parsed} records parsed by the CloudEvents SDK, "
        f"{validated} validated against their schema, {cross_matches} cross-type matches, "
        f"{len(types)} types"
    )
    assert parsed == validated == len(records) and cross_matches == 0


SCHEMAS = Path(__file__).resolve().parents[2] / "libs" / "events" / "schemas"
