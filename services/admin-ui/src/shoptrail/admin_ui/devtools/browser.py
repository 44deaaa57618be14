"""Browser-test support (Playwright): a tab that records dialogs and errors, logging in."""

from __future__ import annotations

from dataclasses import dataclass, field

from playwright.async_api import BrowserContext, ConsoleMessage, Dialog, Page

from shoptrail.admin_ui.config import DEV_PASSWORD

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


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
