"""The one way the admin calls a service: bearer token, timeout, errors turned into ours."""

from __future__ import annotations

from typing import Any

import httpx
from pydantic import SecretStr

from shoptrail.admin_ui.service_layer.ports import (
    InvalidInputError,
    NotFoundError,
    RefusedError,
    UpstreamError,
)
from shoptrail.events.tracing import current_traceparent


def service_client(
    base_url: str,
    token: SecretStr,
    timeout: float,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
) -> httpx.AsyncClient:
    """A client of one service. Each call carries the owner's request's `traceparent`, so an
    action taken in the admin ("Retry submission") continues in the same trace there."""
    return httpx.AsyncClient(
        base_url=base_url,
        headers={"Authorization": f"Bearer {token.get_secret_value()}"},
        timeout=timeout,
        transport=transport,
        event_hooks={"request": [_continue_trace]},
    )


async def _continue_trace(request: httpx.Request) -> None:
    if traceparent := current_traceparent():
        request.headers["traceparent"] = traceparent


def detail_of(response: httpx.Response) -> str:
    """The service's `detail` (FastAPI's error shape), else the status line."""
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    detail = body.get("detail") if isinstance(body, dict) else None
    if isinstance(detail, list):  # a validation error: the first complaint is enough
        first = detail[0] if detail else {}
        return str(first.get("msg", "invalid")) if isinstance(first, dict) else str(first)
    return str(detail) if detail else f"HTTP {response.status_code}"


async def call(
    client: httpx.AsyncClient, service: str, method: str, path: str, **kwargs: Any
) -> httpx.Response:
    """Send; 2xx is returned, 400 → InvalidInputError, 404 → NotFoundError,
    409/422 → RefusedError, else UpstreamError."""
    try:
        response = await client.request(method, path, **kwargs)
    except httpx.HTTPError as exc:
        raise UpstreamError(service, f"not answering ({type(exc).__name__})") from exc
    if response.is_success:
        return response
    if response.status_code == 400:
        raise InvalidInputError(detail_of(response))
    if response.status_code == 404:
        raise NotFoundError(detail_of(response))
    if response.status_code in (409, 422):
        raise RefusedError(detail_of(response))
    raise UpstreamError(service, f"answered {response.status_code}: {detail_of(response)}")
