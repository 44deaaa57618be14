"""Background jobs of fulfilment and the notifier: failed, stalled, waiting; retry one."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from shoptrail.admin_ui.auth.sessions import UserDep
from shoptrail.admin_ui.domain.jobs import JobRow, job_title, order_of
from shoptrail.admin_ui.domain.models import Order
from shoptrail.admin_ui.entrypoints.web import Services, ServicesDep, flash, render_page
from shoptrail.admin_ui.service_layer.ports import (
    InvalidInputError,
    JobsPort,
    NotFoundError,
    RefusedError,
    UpstreamError,
)
from shoptrail.kit.jobs import JobInfo

router = APIRouter(prefix="/admin/jobs", tags=["jobs"])

SHOWN = ("failed", "stalled", "waiting")
ORDER_LOOKUPS = 20
"""At most this many orders are looked up to name the jobs needing an eye."""


async def _jobs_of(port: JobsPort) -> list[JobInfo] | str:
    """The service's jobs, or why they cannot be shown."""
    try:
        return await port.jobs()
    except UpstreamError as exc:
        return exc.detail
    except (NotFoundError, RefusedError, InvalidInputError) as exc:
        return f"answering its jobs list with an error ({exc})"


async def _orders(services: Services, order_ids: list[str]) -> dict[str, Order]:
    async def one(order_id: str) -> Order | None:
        try:
            return await services.activity.order(order_id)
        except (NotFoundError, UpstreamError):
            return None  # the job is still shown, by its order id

    found = await asyncio.gather(*(one(i) for i in order_ids))
    return {order.order_id: order for order in found if order is not None}


@router.get("", response_class=HTMLResponse)
async def jobs(request: Request, services: ServicesDep, _: UserDep) -> HTMLResponse:
    """Failed and stalled jobs (with Retry), then waiting ones, from every job-running service."""
    names = list(services.jobs)
    answers = await asyncio.gather(*(_jobs_of(services.jobs[name]) for name in names))
    unreachable = {n: a for n, a in zip(names, answers, strict=True) if isinstance(a, str)}
    found = [
        (name, job)
        for name, answer in zip(names, answers, strict=True)
        if not isinstance(answer, str)
        for job in answer
        if job.state in SHOWN
    ]
    needing_eye = [order_of(j) for _, j in found if j.state != "waiting" and order_of(j)]
    orders = await _orders(
        services, list(dict.fromkeys(i for i in needing_eye if i))[:ORDER_LOOKUPS]
    )
    rows = [
        JobRow(name, job, job_title(job, orders.get(order_of(job) or "")), order_of(job))
        for name, job in found
    ]
    grouped = {state: [r for r in rows if r.job.state == state] for state in SHOWN}
    return await render_page(request, "jobs.html", groups=grouped, unreachable=unreachable)


@router.post("/{service}/{job_id}/retry")
async def retry_job(
    request: Request,
    services: ServicesDep,
    _: UserDep,
    service: Annotated[str, Path(max_length=40)],
    job_id: Annotated[int, Path(ge=1, le=2**63 - 1)],
) -> RedirectResponse:
    """Put a failed or stalled job back in its service's queue (once)."""
    port = services.jobs.get(service)
    if port is None:
        raise NotFoundError(f"no service {service!r} runs jobs")
    outcome = await port.retry(job_id)
    flash(request, f"Job {job_id}: {outcome.message}")
    return RedirectResponse("/admin/jobs", status_code=303)
