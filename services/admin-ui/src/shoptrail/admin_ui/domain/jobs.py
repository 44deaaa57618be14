"""Background jobs in the shop's words: "Submit order SS-1042 to Printify", not `submit_order`.

Task names are the services' (fulfilment's and the notifier's procrastinate
tasks); a task this list does not know is shown by its name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shoptrail.admin_ui.domain.models import Order
from shoptrail.kit.jobs import JobInfo

SERVICE_LABELS = {"fulfilment": "Fulfilment", "notifier": "Emails"}

SUBMIT_ORDER = "submit_order"

_FIXED_TITLES = {
    "poll_order_status": "Check orders' status at Printify and Printful",
    "sync_all_products": "Sync products with every provider",
    "retry_stalled_jobs": "Recover jobs of stopped workers",
    "notifier.send_due_recovery_emails": "Send due cart-recovery emails",
    "notifier.prune_abandoned_carts": "Forget old abandoned carts",
    "notifier.retry_stalled_jobs": "Recover email jobs of stopped workers",
}


@dataclass(frozen=True)
class JobRow:
    """One job as the owner sees it: what it does, which order it is about."""

    service: str
    job: JobInfo
    title: str
    order_id: str | None

    @property
    def service_label(self) -> str:
        return SERVICE_LABELS.get(self.service, self.service)

    @property
    def can_retry(self) -> bool:
        return self.job.state in ("failed", "stalled")


def order_of(job: JobInfo) -> str | None:
    """The order a job is about, if its arguments say."""
    order_id = job.args.get("order_id")
    return order_id if isinstance(order_id, str) and order_id else None


def _text(args: Mapping[str, Any], name: str) -> str | None:
    value = args.get(name)
    return value if isinstance(value, str) and value else None


def job_title(job: JobInfo, order: Order | None = None) -> str:
    """What the job does, in a sentence; `order` (from the activity log) names its order."""
    if job.task == SUBMIT_ORDER:
        number = (order.order_number if order else None) or order_of(job) or "?"
        where = order.provider if order and order.provider else "its provider"
        return f"Submit order {number} to {where}"
    if job.task == "sync_products":
        return f"Sync products with {_text(job.args, 'provider') or 'a provider'}"
    if job.task == "notifier.send_email":
        return "Send an email to a customer"
    return _FIXED_TITLES.get(job.task, job.task)
