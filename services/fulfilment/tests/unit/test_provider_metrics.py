"""Provider calls are timed and counted by provider and outcome, never by URL."""

from __future__ import annotations

import httpx
import pytest
from prometheus_client import CollectorRegistry, generate_latest

from shoptrail.fulfilment.adapters.providers.metrics import InstrumentedTransport, ProviderMetrics


def answer(request: httpx.Request) -> httpx.Response:
    """A provider whose answer depends on the order in the URL."""
    order = request.url.path.rsplit("/", 1)[-1]
    if order == "slow":
        raise httpx.ReadTimeout("no answer", request=request)
    if order == "away":
        raise httpx.ConnectError("refused", request=request)
    status = {"busy": 429, "broken": 503, "unknown": 404}.get(order, 200)
    return httpx.Response(status, json={})


async def test_calls_are_recorded_by_provider_and_outcome() -> None:
    registry = CollectorRegistry()
    metrics = ProviderMetrics(registry)
    transport = InstrumentedTransport(
        httpx.MockTransport(answer), provider="Printful", metrics=metrics
    )
    async with httpx.AsyncClient(transport=transport, base_url="http://printful") as client:
        for order in ("ord_1", "ord_2", "busy", "broken", "unknown"):
            await client.get(f"/orders/{order}")
        for order in ("slow", "away"):
            with pytest.raises(httpx.TransportError):
                await client.get(f"/orders/{order}")

    def calls(outcome: str) -> float | None:
        labels = {"provider": "Printful", "outcome": outcome}
        return registry.get_sample_value(
            "shoptrail_provider_request_duration_seconds_count", labels
        )

    def errors(outcome: str) -> float | None:
        labels = {"provider": "Printful", "outcome": outcome}
        return registry.get_sample_value("shoptrail_provider_errors_total", labels)

    assert calls("ok") == 2
    assert errors("ok") is None  # success is not an error
    for outcome in ("rate_limited", "server_error", "client_error", "timeout", "unreachable"):
        assert calls(outcome) == 1, outcome
        assert errors(outcome) == 1, outcome
    assert b"ord_1" not in generate_latest(registry)
