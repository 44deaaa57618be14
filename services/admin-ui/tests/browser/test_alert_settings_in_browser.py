"""The Alerts settings form in a real browser, against the real notifier: saved, shown
back, the webhook secret only as a hint; screenshots at phone and desktop widths."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from playwright.async_api import BrowserContext, expect

from shoptrail.admin_ui.devtools.browser import log_in, open_tab
from shoptrail.admin_ui.devtools.harness import ActivityHandle, ServeAdmin

pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.kafka]

SECRET = "whsec_" + base64.b64encode(b"browser-test-signing-key").decode()


async def test_alert_settings_are_saved_and_shown_back(
    context: BrowserContext,
    serve_admin: ServeAdmin,
    activity: ActivityHandle,
    notifier: str,
    artifacts: Path,
) -> None:
    admin = await serve_admin(activity, notifier_url=notifier)
    tab = await open_tab(context)
    page = tab.page
    await log_in(page, admin, "/admin/settings")
    card = page.locator("#alerts-card")
    await expect(card.get_by_role("heading", name="Alerts")).to_be_visible()
    await expect(card.get_by_label("Digest at most every (minutes)")).to_have_value("15")

    await card.get_by_label("Send alerts").check()
    await card.get_by_label("Email alerts to").fill("owner@samsprints.example")
    await card.get_by_label("Digest at most every (minutes)").fill("5")
    await card.get_by_label("From").fill("22:00")
    await card.get_by_label("Until").fill("07:00")
    await card.get_by_label("Time zone").fill("Europe/London")
    await card.get_by_label("Webhook URL").fill("https://hooks.example/services/T1/B2")
    await card.get_by_label("Signing secret").fill(SECRET)
    await card.get_by_role("button", name="Save alerts").click()

    await expect(page.get_by_text("Alert settings saved.")).to_be_visible()
    await expect(card.get_by_label("Send alerts")).to_be_checked()
    await expect(card.get_by_label("Email alerts to")).to_have_value("owner@samsprints.example")
    await expect(card.get_by_label("Digest at most every (minutes)")).to_have_value("5")
    await expect(card.get_by_label("From")).to_have_value("22:00")
    await expect(card.get_by_label("Until")).to_have_value("07:00")
    await expect(card.get_by_label("Time zone")).to_have_value("Europe/London")
    await expect(card.locator("#secret-hint")).to_have_text(f"whsec_…{SECRET[-4:]}")
    await expect(card.get_by_label("Signing secret")).to_have_value("")
    assert SECRET not in await page.content()

    shots = artifacts / "screenshots"
    shots.mkdir(exist_ok=True)
    for width in (390, 1280):
        await page.set_viewport_size({"width": width, "height": 900})
        await card.scroll_into_view_if_needed()
        await page.screenshot(path=str(shots / f"alert-settings-{width}.png"), full_page=True)

    # the notifier refuses what cannot work; the page says why and keeps the form
    await card.get_by_label("Time zone").fill("Mars/Olympus")
    await card.get_by_role("button", name="Save alerts").click()
    await expect(card.get_by_role("alert")).to_contain_text("Not saved")
    await expect(card.get_by_label("Time zone")).to_have_value("Mars/Olympus")
    assert tab.errors == [] and tab.dialogs == []
