"""Provider calls in `/metrics`: latency and errors by provider and outcome.

Measured in the HTTP transport under the provider clients, so every call of
every adapter is counted the same way and no adapter code changes. The time is
until the answer's headers arrived (the bodies are small). Labels are the
provider and the outcome class, never a URL: order ids stay out.
"""

from __future__ import annotations

import time

import httpx
from prometheus_client import CollectorRegistry, Counter, Histogram

from shoptrail.fulfilment.domain.model import ProviderName

PROVIDER_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


def outcome_of(status: int) -> str:
    """`ok`, `rate_limited`, `client_error` or `server_error` for an HTTP status."""
    if status < 400:
        return "ok"
    if status == 429:
        return "rate_limited"
    return "client_error" if status < 500 else "server_error"


class ProviderMetrics:
    """`shoptrail_provider_request_duration_seconds` and `shoptrail_provider_errors_total`."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.duration = Histogram(
            "shoptrail_provider_request_duration_seconds",
            "Time a provider took to answer a call, by provider and outcome.",
            ["provider", "outcome"],
            registry=registry,
            buckets=PROVIDER_BUCKETS,
        )
        self.errors = Counter(
            "shoptrail_provider_errors",
            "Provider calls that failed, by provider and outcome "
            "(timeout, unreachable, rate_limited, client_error, server_error).",
            ["provider", "outcome"],
            registry=registry,
        )

    def observe(self, provider: ProviderName, outcome: str, seconds: float) -> None:
        self.duration.labels(provider, outcome).observe(seconds)
        if outcome != "ok":
            self.errors.labels(provider, outcome).inc()


class InstrumentedTransport(httpx.AsyncBaseTransport):
    """Wraps a transport; records each request's outcome and time in `ProviderMetrics`."""

    def __init__(
        self, inner: httpx.AsyncBaseTransport, *, provider: ProviderName, metrics: ProviderMetrics
    ) -> None:
        self._inner = inner
        self._provider = provider
        self._metrics = metrics

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        started = time.perf_counter()
        outcome = "error"
        try:
            response = await self._inner.handle_async_request(request)
        except httpx.TimeoutException:
            outcome = "timeout"
            raise
        except httpx.TransportError:
            outcome = "unreachable"
            raise
        else:
            outcome = outcome_of(response.status_code)
            return response
        finally:
            self._metrics.observe(self._provider, outcome, time.perf_counter() - started)

    async def aclose(self) -> None:
        await self._inner.aclose()
