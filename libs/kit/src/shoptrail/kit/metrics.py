"""Prometheus plumbing every process shares: HTTP request metrics and the `/metrics` route.

Each app keeps its own `CollectorRegistry` (several apps can live in one test
process), and `serve_metrics()` exposes it. `instrument_http()` adds
`shoptrail_http_requests_total{route,method,status}` and
`shoptrail_http_request_duration_seconds{route,method}`, labelled by the
route's *template* (`/orders/{order_id}`), never the raw path, so an id in a
URL cannot make a new time series per request.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from fastapi import FastAPI, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from starlette.routing import BaseRoute, Match, Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
"""Webhooks must be answered within a second or two; pages within a few hundred ms."""

UNMATCHED = "<unmatched>"
"""The route label of a request no route matched (scanners, typos): one series for all."""


class HttpMetrics:
    """Request count and latency of one app, by route template, method and status class."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "shoptrail_http_requests",
            "HTTP requests answered, by route template, method and status class (2xx, 5xx…).",
            ["route", "method", "status"],
            registry=registry,
        )
        self.duration = Histogram(
            "shoptrail_http_request_duration_seconds",
            "Time from a request's arrival to the end of its answer, by route template.",
            ["route", "method"],
            registry=registry,
            buckets=HTTP_BUCKETS,
        )


def route_template(scope: Scope, routes: Iterable[BaseRoute]) -> str:
    """The template of the route that served (or would serve) this request.

    Routing leaves the matched route in `scope["route"]`; a request answered
    before routing (a guard, load shedding) is matched here instead.
    """
    route = scope.get("route")
    if route is None:
        route = next((r for r in routes if r.matches(scope)[0] is Match.FULL), None)
    if isinstance(route, Mount):
        return f"{route.path}/{{path:path}}"
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else UNMATCHED


class HttpMetricsMiddleware:
    """ASGI middleware recording `HttpMetrics` for every HTTP request (not WebSockets)."""

    def __init__(self, app: ASGIApp, *, metrics: HttpMetrics, routes: Iterable[BaseRoute]) -> None:
        self.app = app
        self.metrics = metrics
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # an exception before the answer began is a 500 to the client

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = route_template(scope, self.routes)
            method = str(scope.get("method", "GET"))
            self.metrics.requests.labels(route, method, f"{status // 100}xx").inc()
            self.metrics.duration.labels(route, method).observe(time.perf_counter() - started)


def instrument_http(app: FastAPI, registry: CollectorRegistry) -> None:
    """Record every request of `app` in `registry`; call it after the app's other middleware
    that should be timed too (the last added runs first)."""
    app.add_middleware(HttpMetricsMiddleware, metrics=HttpMetrics(registry), routes=app.routes)


def serve_metrics(app: FastAPI, registry: CollectorRegistry) -> None:
    """`GET /metrics`: `registry` in Prometheus' text format."""

    @app.get("/metrics", tags=["operations"], include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
