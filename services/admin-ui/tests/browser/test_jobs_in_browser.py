"""The Jobs page in a real browser with JavaScript off: the Retry form is a plain form."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, BrowserContext, expect

from shoptrail.admin_ui.devtools.browser import log_in, open_tab
from shoptrail.admin_ui.devtools.harness import ActivityHandle, ServeAdmin

from ..conftest import JobService

pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.kafka]


@pytest.fixture
async def no_script(browser: Browser) -> AsyncIterator[BrowserContext]:
    made = await browser.new_context(
        java_script_enabled=False, viewport={"width": 1200, "height": 900}
    )
    made.set_default_timeout(15_000)
    yield made
    await made.close()


async def test_retry_a_failed_job_without_javascript(
    no_script: BrowserContext,
    serve_admin: ServeAdmin,
    activity: ActivityHandle,
    fulfilment_jobs: JobService,
    artifacts: Path,
) -> None:
    job_id = await fulfilment_jobs.fail("sync_products", provider="Printful")
    admin = await serve_admin(activity, fulfilment_url=fulfilment_jobs.url)
    page = (await open_tab(no_script)).page
    await log_in(page, admin, "/admin/activity")
    await page.get_by_role("link", name="Jobs").click()
    await expect(page.get_by_role("heading", name="Jobs", exact=True)).to_be_visible()

    failed = page.locator("#failed-jobs")
    await expect(failed.get_by_role("row", name="Sync products with Printful")).to_be_visible()
    await expect(failed).to_contain_text("RuntimeError: mail server refused <email>")
    await page.screenshot(path=str(artifacts / "jobs-page.png"), full_page=True)

    await failed.get_by_role("button", name=f"Retry job {job_id}").click()
    await expect(page.get_by_text(f"Job {job_id}: Retry queued")).to_be_visible()
    await expect(page.locator("#waiting-jobs")).to_contain_text("Sync products with Printful")
    await expect(failed).to_contain_text("No failed jobs")  # (the notifier is not running)
    assert await fulfilment_jobs.state(job_id) == "waiting"
