"""The Jobs page: both services' failed, stalled and waiting jobs, and Retry, over real HTTP.

fulfilment and the notifier run for real (their `/api/jobs`), each on its own
database, where the test puts jobs with a procrastinate worker of its own.
"""

from __future__ import annotations

import re

import httpx
import pytest

from shoptrail.admin_ui.devtools.harness import (
    ActivityHandle,
    AdminClient,
    ServeAdmin,
    Story,
    log_in,
)
from shoptrail.testing.jobs import CUSTOMER

from ..conftest import NOWHERE, JobService

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]


def section(html: str, state: str) -> str:
    found = re.search(rf'<section[^>]*id="{state}-jobs">(.*?)</section>', html, re.S)
    assert found, f"no {state} section"
    return found.group(1)


class TestJobsPage:
    async def test_both_services_jobs_in_the_shops_words_with_their_last_error(
        self,
        serve_admin: ServeAdmin,
        activity: ActivityHandle,
        story: Story,
        fulfilment_jobs: JobService,
        notifier_jobs: JobService,
    ) -> None:
        await activity.log(*story.order_with_a_failed_submission("ord_1", "SS-1"))
        submit = await fulfilment_jobs.fail("submit_order", order_id="ord_1")
        email = await notifier_jobs.fail("notifier.send_email", email_id="e-1")
        later = await notifier_jobs.wait("notifier.send_due_recovery_emails", timestamp=0)
        admin = await serve_admin(
            activity, fulfilment_url=fulfilment_jobs.url, notifier_url=notifier_jobs.url
        )
        async with httpx.AsyncClient(base_url=admin) as http:
            client = AdminClient(http, await log_in(http))
            page = await client.http.get("/admin/jobs")
        assert page.status_code == 200
        assert 'href="/admin/jobs" aria-current="page">Jobs</a>' in page.text
        failed = section(page.text, "failed")
        assert f'data-job="fulfilment-{submit}"' in failed
        assert f'data-job="notifier-{email}"' in failed
        assert '<a href="/admin/orders/ord_1">Submit order SS-1 to Printify</a>' in failed
        assert "Send an email to a customer" in failed
        assert "RuntimeError: mail server refused &lt;email&gt;" in failed
        assert CUSTOMER not in page.text
        assert failed.count(">Retry<") == 2
        waiting = section(page.text, "waiting")
        assert f'data-job="notifier-{later}"' in waiting
        assert "Send due cart-recovery emails" in waiting and ">Retry<" not in waiting
        assert "No stalled jobs." in section(page.text, "stalled")

    async def test_retry_puts_the_job_back_once(
        self, serve_admin: ServeAdmin, activity: ActivityHandle, fulfilment_jobs: JobService
    ) -> None:
        job_id = await fulfilment_jobs.fail("sync_products", provider="Printful")
        admin = await serve_admin(activity, fulfilment_url=fulfilment_jobs.url)
        path = f"/admin/jobs/fulfilment/{job_id}/retry"
        async with httpx.AsyncClient(base_url=admin) as http:
            client = AdminClient(http, await log_in(http))
            first = await client.post(path)
            assert (first.status_code, first.headers["location"]) == (303, "/admin/jobs")
            page = await client.http.get("/admin/jobs")
            assert f"Job {job_id}: Retry queued" in page.text
            assert "Sync products with Printful" in section(page.text, "waiting")
            assert await fulfilment_jobs.state(job_id) == "waiting"

            await client.post(path)  # clicked again, e.g. from a stale page
            again = await client.http.get("/admin/jobs")
            assert f"Job {job_id}: Not retried: job {job_id} is waiting" in again.text
            assert section(again.text, "waiting").count("Sync products with Printful") == 1

    async def test_retry_without_the_csrf_token_is_refused(
        self, serve_admin: ServeAdmin, activity: ActivityHandle, fulfilment_jobs: JobService
    ) -> None:
        job_id = await fulfilment_jobs.fail("sync_products", provider="Printify")
        admin = await serve_admin(activity, fulfilment_url=fulfilment_jobs.url)
        async with httpx.AsyncClient(base_url=admin) as http:
            await log_in(http)
            refused = await http.post(f"/admin/jobs/fulfilment/{job_id}/retry", data={})
        assert refused.status_code == 403
        assert await fulfilment_jobs.state(job_id) == "failed"

    async def test_an_unknown_service_or_job(
        self, serve_admin: ServeAdmin, activity: ActivityHandle, fulfilment_jobs: JobService
    ) -> None:
        admin = await serve_admin(activity, fulfilment_url=fulfilment_jobs.url)
        async with httpx.AsyncClient(base_url=admin) as http:
            client = AdminClient(http, await log_in(http))
            assert (await client.post("/admin/jobs/ingest/1/retry")).status_code == 404
            await client.post("/admin/jobs/fulfilment/999/retry")
            page = await client.http.get("/admin/jobs")
        assert "Job 999: Not retried: no job 999" in page.text

    async def test_a_service_not_answering_is_said_and_the_other_still_shown(
        self, serve_admin: ServeAdmin, activity: ActivityHandle, fulfilment_jobs: JobService
    ) -> None:
        job_id = await fulfilment_jobs.fail("sync_products", provider="Printify")
        admin = await serve_admin(
            activity, fulfilment_url=fulfilment_jobs.url, notifier_url=NOWHERE
        )
        async with httpx.AsyncClient(base_url=admin) as http:
            client = AdminClient(http, await log_in(http))
            page = await client.http.get("/admin/jobs")
        assert page.status_code == 200
        assert "The notifier service is not answering" in page.text
        assert f'data-job="fulfilment-{job_id}"' in section(page.text, "failed")

    async def test_logged_out_is_sent_to_log_in(self, admin: str) -> None:
        async with httpx.AsyncClient(base_url=admin) as http:
            page = await http.get("/admin/jobs")
        assert page.status_code == 303 and "/admin/login" in page.headers["location"]
