"""A service's background jobs (`/api/jobs` on fulfilment and notifier)."""

from __future__ import annotations

import httpx
from pydantic import TypeAdapter, ValidationError

from shoptrail.admin_ui.adapters.http import call
from shoptrail.admin_ui.service_layer.ports import (
    ActionOutcome,
    NotFoundError,
    RefusedError,
    UpstreamError,
)
from shoptrail.kit.jobs import JobInfo

_JOBS = TypeAdapter(list[JobInfo])


class JobsClient:
    """`JobsPort` over HTTP: the service's failed, stalled, waiting and running jobs."""

    def __init__(self, service: str, client: httpx.AsyncClient) -> None:
        self.service = service
        self._client = client

    async def jobs(self) -> list[JobInfo]:
        response = await call(self._client, self.service, "GET", "/api/jobs?state=all")
        try:
            return _JOBS.validate_json(response.content)
        except ValidationError as exc:
            raise UpstreamError(self.service, "answered jobs the admin cannot read") from exc

    async def retry(self, job_id: int) -> ActionOutcome:
        try:
            await call(self._client, self.service, "POST", f"/api/jobs/{job_id}/retry")
        except RefusedError as exc:
            return ActionOutcome("refused", exc.reason)
        except NotFoundError as exc:
            return ActionOutcome("refused", str(exc))
        return ActionOutcome("queued", "queued")
