"""Jobs in the shop's words."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from shoptrail.admin_ui.domain.jobs import JobRow, job_title
from shoptrail.admin_ui.domain.models import Order
from shoptrail.kit.jobs import JobInfo, JobState


def job(task: str, state: JobState = JobState.FAILED, **args: Any) -> JobInfo:
    return JobInfo(
        id=7,
        task=task,
        queue="q",
        state=state,
        attempts=1,
        args=args,
        scheduled_at=None,
        started_at=None,
        failed_at=None,
        last_error=None,
        last_error_at=None,
    )


def test_a_submission_names_the_order_and_provider_when_the_log_knows_them() -> None:
    order = Order(
        order_id="ord_1",
        order_number="SS-1042",
        provider="Printify",
        status="failed",
        status_at=datetime.now(UTC),
    )
    assert job_title(job("submit_order", order_id="ord_1"), order) == (
        "Submit order SS-1042 to Printify"
    )
    assert job_title(job("submit_order", order_id="ord_1")) == "Submit order ord_1 to its provider"


def test_other_tasks_read_as_what_they_do_and_unknown_ones_by_name() -> None:
    assert job_title(job("sync_products", provider="Printful")) == "Sync products with Printful"
    assert job_title(job("notifier.send_email", email_id="e")) == "Send an email to a customer"
    assert job_title(job("notifier.prune_abandoned_carts")) == "Forget old abandoned carts"
    assert job_title(job("something_new")) == "something_new"


def test_only_failed_and_stalled_jobs_offer_retry() -> None:
    rows = [JobRow("fulfilment", job("x", state), "x", None) for state in JobState]
    assert {row.job.state for row in rows if row.can_retry} == {"failed", "stalled"}
    assert rows[0].service_label == "Fulfilment"
