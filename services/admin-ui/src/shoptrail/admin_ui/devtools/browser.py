"""Browser-test support (Playwright): a tab that records dialogs and errors, logging in."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.async_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Dialog,
    Page,
    async_playwright,
    expect,
)

from shoptrail.admin_ui.config import DEV_PASSWORD

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def chromium_installed() -> bool:
    return CHROMIUM.exists()


@asynccontextmanager
async def launch_chromium() -> AsyncIterator[Browser]:
    """Debian's Chromium through Playwright (never a downloaded browser).

    Assertions (`expect`) wait up to 15 s, as long as actions do: on a loaded machine a
    logout's round trip (admin → activity → redirect → login page) can outlast the 5 s
    default. A test that passes only on an idle machine is a broken test.
    """
    expect.set_options(timeout=15_000)
    if not chromium_installed():
        pytest.fail("Chromium is missing (Debian: apt-get install -y chromium)")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            await browser.close()


@dataclass
class Tab:
    """A browser tab, and what it noticed: dialogs opened, console errors (CSP reports too)."""

    page: Page
    dialogs: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


async def open_tab(context: BrowserContext) -> Tab:
    """A new tab that dismisses (and records) any dialog, and records script errors."""
    page = await context.new_page()
    tab = Tab(page)

    async def on_dialog(dialog: Dialog) -> None:
        tab.dialogs.append(dialog.message)
        await dialog.dismiss()

    page.on("dialog", on_dialog)

    def on_console(message: ConsoleMessage) -> None:
        # Failed requests are the tests' business (live updates may be unavailable);
        # script errors and CSP violations are not.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            tab.errors.append(message.text)

    page.on("console", on_console)
    page.on("pageerror", lambda e: tab.errors.append(str(e)))
    return tab


async def log_in(page: Page, admin: str, path: str = "/admin/activity") -> None:
    """Go to `path`, be sent to the login form, log in, and land back on `path`."""
    await page.goto(admin + path)
    await page.get_by_label("User name").fill("admin")
    await page.get_by_label("Password").fill(DEV_PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await page.wait_for_url(admin + path)
