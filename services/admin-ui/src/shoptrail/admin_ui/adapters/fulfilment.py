"""The fulfilment service's retry actions."""

from __future__ import annotations

from urllib.parse import quote

import httpx

from shoptrail.admin_ui.adapters.http import call
from shoptrail.admin_ui.service_layer.ports import ActionOutcome, NotFoundError, RefusedError

SERVICE = "fulfilment"


class FulfilmentClient:
    """`FulfilmentPort` over HTTP: 202 is queued, 409 "already queued" or refused with a reason."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client

    async def _queue(self, path: str, body: dict[str, str] | None = None) -> ActionOutcome:
        try:
            await call(self._client, SERVICE, "POST", path, json=body)
        except RefusedError as exc:
            if exc.reason == "already queued":
                return ActionOutcome("already_queued", exc.reason)
            return ActionOutcome("refused", exc.reason)
        except NotFoundError as exc:
            return ActionOutcome("refused", str(exc))
        return ActionOutcome("queued", "queued")

    async def retry_submission(self, order_id: str) -> ActionOutcome:
        return await self._queue(f"/orders/{quote(order_id, safe='')}/submission/retry")

    async def retry_sync(self, provider: str) -> ActionOutcome:
        return await self._queue("/syncs", {"provider": provider})
