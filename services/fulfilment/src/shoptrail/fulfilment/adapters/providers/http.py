"""Turning a provider's HTTP answers into `ProviderError`s with reasons in plain words.

401 and 403 (and 404 where the URL names the configured shop) are the
operator's to fix, not the order's: they carry an `OperatorProblem`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from opentelemetry.trace import Span, SpanKind, StatusCode

from shoptrail.events.failures import mask_emails
from shoptrail.events.tracing import current_span, current_traceparent
from shoptrail.fulfilment.domain import problems
from shoptrail.fulfilment.domain.model import ProviderName
from shoptrail.fulfilment.domain.problems import OperatorProblem, Scope
from shoptrail.fulfilment.service_layer.ports import ProviderError

NOT_RETRYABLE = frozenset({400, 401, 403, 404, 422})


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return max(float(response.headers.get("Retry-After", "")), 0.0)
    except ValueError:
        return None


def operator_problem(
    provider: ProviderName, status: int, said: str | None, *, scope: Scope, shop: str | None
) -> OperatorProblem | None:
    """The operator's problem an HTTP status means, if it means one.

    `shop`: the URL is one of that shop's own collections (its orders, its
    products), which exist whenever the shop does, so a 404 there means the
    configured shop id names no shop.
    """
    detail = f"HTTP {status}: {said}" if said else f"HTTP {status}"
    if status == 401:
        return problems.token_refused(provider, detail)
    if status == 403:
        return problems.access_refused(provider, scope, detail, shop=shop)
    if status == 404 and shop is not None:
        return problems.shop_not_found(provider, shop, detail)
    return None


async def _send(
    client: httpx.AsyncClient,
    provider: ProviderName,
    method: str,
    url: str,
    *,
    span: Span,
    **options: Any,
) -> httpx.Response:
    headers = dict(options.pop("headers", None) or {})
    if traceparent := current_traceparent():
        headers["traceparent"] = traceparent
    span.set_attribute("server.address", client.base_url.join(url).host)
    try:
        return await client.request(method, url, headers=headers, **options)
    except httpx.TimeoutException as exc:
        raise ProviderError(f"{provider} did not answer in time") from exc
    except httpx.TransportError as exc:
        raise ProviderError(f"could not reach {provider} ({type(exc).__name__})") from exc


async def request(
    client: httpx.AsyncClient,
    provider: ProviderName,
    method: str,
    url: str,
    *,
    reason_of: Callable[[Any], str | None],
    scope: Scope,
    shop: str | None = None,
    allow: frozenset[int] = frozenset(),
    **options: Any,
) -> httpx.Response:
    """Send one request; a response with a status in `allow` is returned, not raised.

    `scope` is what the call needs the token to be allowed; `shop` is set when
    `url` is a collection of that shop (see `operator_problem`). Each call is a
    client span of the current trace (the job's), and tells the provider its
    `traceparent`.
    """
    with current_span(
        f"{provider} {method}",
        kind=SpanKind.CLIENT,
        attributes={"http.request.method": method, "shoptrail.provider": provider},
    ) as span:
        response = await _send(client, provider, method, url, span=span, **options)
        span.set_attribute("http.response.status_code", response.status_code)
        if not (response.is_success or response.status_code in allow):
            span.set_status(StatusCode.ERROR, f"HTTP {response.status_code}")
    if response.is_success or response.status_code in allow:
        return response
    try:
        said = reason_of(response.json())
    except ValueError:
        said = None
    if said:
        said = mask_emails(said)  # the provider's words can quote the customer
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
        problem=operator_problem(provider, status, said, scope=scope, shop=shop),
    )
