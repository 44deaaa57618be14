"""Turning a provider's HTTP answers into `ProviderError`s with reasons in plain words."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from shoptrail.fulfilment.service_layer.ports import ProviderError

NOT_RETRYABLE = frozenset({400, 401, 403, 404, 422})


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return max(float(response.headers.get("Retry-After", "")), 0.0)
    except ValueError:
        return None


async def request(
    client: httpx.AsyncClient,
    provider: str,
    method: str,
    url: str,
    *,
    reason_of: Callable[[Any], str | None],
    allow: frozenset[int] = frozenset(),
    **options: Any,
) -> httpx.Response:
    """Send one request; a response with a status in `allow` is returned, not raised."""
    try:
        response = await client.request(method, url, **options)
    except httpx.TimeoutException as exc:
        raise ProviderError(f"{provider} did not answer in time") from exc
    except httpx.TransportError as exc:
        raise ProviderError(f"could not reach {provider} ({type(exc).__name__})") from exc
    if response.is_success or response.status_code in allow:
        return response
    try:
        said = reason_of(response.json())
    except ValueError:
        said = None
    status = response.status_code
    if status == 429:
        wait = _retry_after(response)
        hint = f"; retry after {wait:g}s" if wait is not None else ""
        raise ProviderError(f"{provider} rate limit reached{hint}", retry_after=wait)
    if status >= 500:
        raise ProviderError(f"{provider} is having trouble (HTTP {status}): {said or 'no details'}")
    raise ProviderError(
        f"{provider} refused the request: {said or f'HTTP {status}'}",
        retryable=status not in NOT_RETRYABLE,
    )
