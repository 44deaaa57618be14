"""The admin's comforts in a real browser: keyboard, dark mode, aging times, the badge
announced, and an order summary that holds a long email."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from shoptrail.admin_ui.devtools.browser import Tab, log_in
from shoptrail.admin_ui.devtools.harness import ActivityHandle, Story
from shoptrail.admin_ui.domain.timefmt import relative_time
from shoptrail.events.ingest import EmailBounced, OrderCreated

pytestmark = [pytest.mark.browser, pytest.mark.postgres]

SELECTED = re.compile(r"(^|\s)is-kbd-focus(\s|$)")
"""The class polish.js gives the row j/k moved to."""

LONG_EMAIL = "a.very.long.customer.name.with.many.parts." + "x" * 25 + "@example-shop.co.uk"

# WCAG relative luminance and contrast, computed in the page from computed colours.
CONTRAST_JS = """
([fg, bg]) => {
  const rgb = (css) => css.match(/\\d+(\\.\\d+)?/g).slice(0, 3).map(Number);
  const lum = (css) => {
    const [r, g, b] = rgb(css).map((v) => {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const [a, b] = [lum(fg), lum(bg)].sort((x, y) => y - x);
  return { ratio: (a + 0.05) / (b + 0.05), bgLum: lum(bg) };
}
"""


BOXES_JS = """
() => {
  const box = (el) => {
    // The text's own extent, not the box's: overflowing text spills past its dd's box.
    const range = document.createRange();
    range.selectNodeContents(el);
    const r = range.getBoundingClientRect();
    return { left: r.left, right: r.right, top: r.top, bottom: r.bottom, height: r.height };
  };
  const card = document.querySelector(".summary").getBoundingClientRect();
  const out = { card: { left: card.left, right: card.right } };
  for (const fact of document.querySelectorAll(".summary .facts > div")) {
    out[fact.querySelector("dt").textContent.trim()] = box(fact.querySelector("dd"));
  }
  return out;
}
"""


def screenshots(artifacts: Path) -> Path:
    folder = artifacts / "screenshots"
    folder.mkdir(exist_ok=True)
    return folder


async def focused_row_id(page: Page) -> str:
    return str(await page.evaluate("document.activeElement?.closest('li')?.id ?? ''"))


async def test_keys_move_resolve_search_and_show_help(
    tab: Tab, admin: str, activity: ActivityHandle, story: Story
) -> None:
    await activity.log(
        story.at(1, story.sync_completed(3)),
        story.at(2, story.sync_failed("API rate limit exceeded")),
        story.at(3, EmailBounced.example()),
    )
    page = tab.page
    await log_in(page, admin, "/admin/activity?tab=attention")
    rows = page.locator("#feed-entries > li.entry")
    await expect(rows).to_have_count(2)
    first, second = [await r.get_attribute("id") for r in await rows.all()]
    announcer = page.locator("#attention-announcer")
    await expect(announcer).to_have_attribute("aria-live", "polite")
    await expect(announcer).to_have_text("")  # the count on arrival is not news

    await page.keyboard.press("j")
    assert await focused_row_id(page) == first
    await expect(rows.first).to_have_class(SELECTED)
    await page.keyboard.press("j")
    assert await focused_row_id(page) == second
    await expect(rows.first).not_to_have_class(SELECTED)
    await page.keyboard.press("j")  # the last row stays selected
    assert await focused_row_id(page) == second
    await page.keyboard.press("k")
    assert await focused_row_id(page) == first
    outline = await rows.first.evaluate("r => getComputedStyle(r).outlineStyle")
    assert outline == "solid", "the selected row is visibly marked"

    # r resolves the selected row through its own form (CSRF token and all).
    await page.keyboard.press("r")
    await expect(rows.first.locator(".notice")).to_have_text("Resolved")
    await expect(page.locator("#attention-badge [data-attention-count]")).to_have_text("1")
    await expect(announcer).to_have_text("1 entry needs attention")
    entry = await activity.api("GET", f"/api/entries/{first.removeprefix('entry-')}")
    assert not entry["needs_attention"]
    assert await focused_row_id(page) == first, "the selection survives the row's re-render"

    await page.keyboard.press("j")
    await page.keyboard.press("r")
    await expect(page.locator("#attention-badge")).to_be_hidden()
    await expect(announcer).to_have_text("Nothing needs attention")

    await page.keyboard.press("/")
    search = page.get_by_label("Search messages")
    await expect(search).to_be_focused()
    await page.keyboard.type("jk?r")  # typed into the box, not taken as shortcuts
    await expect(search).to_have_value("jk?r")
    await expect(page.locator("#shortcut-help")).to_have_count(0)

    await page.locator("h1").click()
    await page.keyboard.press("?")
    help_panel = page.get_by_role("dialog", name="Keyboard shortcuts")
    await expect(help_panel).to_be_visible()
    await expect(help_panel.locator("kbd")).to_have_text(["j", "k", "r", "/", "?", "Esc"])
    await page.keyboard.press("?")
    await expect(help_panel).to_be_hidden()
    await page.keyboard.press("?")
    await page.keyboard.press("Escape")
    await expect(help_panel).to_be_hidden()
    assert tab.errors == [] and tab.dialogs == []


async def test_the_badge_is_announced_only_when_its_count_changes(
    tab: Tab, admin: str, activity: ActivityHandle, story: Story
) -> None:
    await activity.log(story.at(1, story.sync_failed()), story.at(2, EmailBounced.example()))
    page = tab.page
    await log_in(page, admin)
    announcer = page.locator("#attention-announcer")
    await expect(page.locator("#attention-badge")).to_contain_text("2")
    await expect(announcer).to_have_text("")
    # The same count written again (a live update repeating itself) says nothing.
    await page.evaluate(
        "document.querySelector('#attention-badge [data-attention-count]').textContent = '2'"
    )
    await page.evaluate("() => new Promise(requestAnimationFrame)")
    await expect(announcer).to_have_text("")
    row = page.locator("#feed-entries > li.entry").filter(has_text="Email bounced")
    await row.get_by_role("button", name="Dismiss").click()
    await expect(announcer).to_have_text("1 entry needs attention")


async def test_relative_times_keep_aging_on_an_open_page(
    tab: Tab, admin: str, activity: ActivityHandle
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    event = Story(now - timedelta(seconds=10)).at(0, Story.sync_completed(5))
    await activity.log(event)
    page = tab.page
    await page.clock.install(time=now)
    await log_in(page, admin)
    when = page.locator("#feed-entries .entry-head time").first
    await expect(when).to_have_text("just now")
    await expect(when).to_have_attribute("datetime", event.time.isoformat())

    for step, reads in (
        (timedelta(minutes=5), "5 min ago"),
        (timedelta(hours=2), "2 h ago"),
        (timedelta(hours=24), "yesterday"),
    ):
        await page.clock.fast_forward(int(step.total_seconds() * 1000))
        browser_now = datetime.fromtimestamp(await page.evaluate("Date.now()") / 1000, UTC)
        assert relative_time(event.time, now=browser_now) == reads  # the server's words
        await expect(when).to_have_text(reads)


async def test_a_long_customer_email_never_overlaps_the_placed_time(
    tab: Tab, admin: str, activity: ActivityHandle, story: Story, artifacts: Path
) -> None:
    assert len(LONG_EMAIL) >= 80
    events = story.order_with_a_failed_submission("ord_long", "SS-260223-0099")
    created = events[0].data
    assert isinstance(created, OrderCreated)
    events[0] = story.at(0, created.model_copy(update={"customer_email": LONG_EMAIL}))
    await activity.log(*events)
    page = tab.page
    await log_in(page, admin, "/admin/orders/ord_long")
    facts = page.locator(".summary .facts > div")
    await expect(facts.filter(has_text="Customer").locator("dd")).to_have_text(LONG_EMAIL)
    for width in (390, 700, 1280):
        await page.set_viewport_size({"width": width, "height": 900})
        await page.evaluate("() => new Promise(requestAnimationFrame)")  # laid out anew
        boxes = await page.evaluate(BOXES_JS)
        email, placed, card = boxes["Customer"], boxes["Placed"], boxes["card"]
        apart = (
            email["right"] <= placed["left"]
            or placed["right"] <= email["left"]
            or email["bottom"] <= placed["top"]
            or placed["bottom"] <= email["top"]
        )
        assert apart, f"at {width}px the email {email} overlaps Placed {placed}"
        assert email["right"] <= card["right"] + 0.5, f"at {width}px the email leaves the card"
        assert email["height"] > 0 and placed["height"] > 0
        folder = screenshots(artifacts)
        await page.screenshot(path=str(folder / f"order-long-email-{width}.png"), full_page=True)


@pytest.mark.parametrize("scheme", ["light", "dark"])
async def test_colours_follow_the_system_scheme_with_readable_contrast(
    tab: Tab, admin: str, activity: ActivityHandle, story: Story, artifacts: Path, scheme: str
) -> None:
    await activity.log(
        *story.order_with_a_failed_submission("ord_1", "SS-260223-0042"),
        story.at(20, EmailBounced.example()),
    )
    page = tab.page
    await page.emulate_media(color_scheme=scheme)  # type: ignore[arg-type]
    await log_in(page, admin)
    await expect(page.locator("#feed-entries > li.entry").first).to_be_visible()

    async def contrast(fg_selector: str, fg_prop: str, bg_selector: str) -> dict[str, float]:
        fg = await page.locator(fg_selector).first.evaluate(f"e => getComputedStyle(e).{fg_prop}")
        bg = await page.locator(bg_selector).first.evaluate(
            "e => getComputedStyle(e).backgroundColor"
        )
        result: dict[str, float] = await page.evaluate(CONTRAST_JS, [fg, bg])
        return result

    page_bg = await contrast("body", "color", "html")
    if scheme == "dark":
        assert page_bg["bgLum"] < 0.05, "a dark page"
    else:
        assert page_bg["bgLum"] > 0.8, "a light page"
    assert page_bg["ratio"] >= 7
    for fg, prop, bg in (
        (".entry-head", "color", "#feed-entries"),  # muted text on a card
        ("a.order-link", "color", "#feed-entries"),
        (".icon.level-error", "color", "#feed-entries"),
        (".icon.level-warning", "color", "#feed-entries"),
        ("#attention-badge", "color", "#attention-badge"),
    ):
        measured = await contrast(fg, prop, bg)
        assert measured["ratio"] >= 4.5, f"{fg} on {bg}: {measured['ratio']:.2f}"

    folder = screenshots(artifacts)
    for width in (390, 1280):
        await page.set_viewport_size({"width": width, "height": 900})
        await page.goto(f"{admin}/admin/activity")
        await page.screenshot(path=str(folder / f"feed-{width}-{scheme}.png"), full_page=True)
        await page.goto(f"{admin}/admin/orders/ord_1")
        await expect(page.get_by_role("heading", name="Order SS-260223-0042")).to_be_visible()
        await page.screenshot(path=str(folder / f"order-{width}-{scheme}.png"), full_page=True)
    assert tab.errors == []
