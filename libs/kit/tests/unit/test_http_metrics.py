"""HTTP request metrics: one series per route template, method and status class."""

from __future__ import annotations

from fastapi import FastAPI, HTTPException
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry
from pydantic import SecretStr

from shoptrail.kit.auth import guard_operations
from shoptrail.kit.metrics import UNMATCHED, instrument_http, serve_metrics


def app_with_metrics() -> tuple[FastAPI, CollectorRegistry]:
    app = FastAPI()
    registry = CollectorRegistry()

    @app.get("/orders/{order_id}")
    async def order(order_id: str) -> dict[str, str]:
        if order_id == "missing":
            raise HTTPException(404, "no such order")
        if order_id == "broken":
            raise RuntimeError("a bug")
        return {"order_id": order_id}

    serve_metrics(app, registry)
    guard_operations(app, environment="prod", token=SecretStr("a-token"))
    instrument_http(app, registry)
    return app, registry


def requests(registry: CollectorRegistry, route: str, status: str, method: str = "GET") -> float:
    labels = {"route": route, "method": method, "status": status}
    return registry.get_sample_value("shoptrail_http_requests_total", labels) or 0.0


class TestHttpMetrics:
    def test_requests_are_counted_by_route_template_not_by_path(self) -> None:
        app, registry = app_with_metrics()
        client = TestClient(app, raise_server_exceptions=False)
        for order_id in ("ord_1", "ord_2", "ord_3"):
            assert client.get(f"/orders/{order_id}").status_code == 200
        assert client.get("/orders/missing").status_code == 404
        assert client.get("/orders/broken").status_code == 500

        assert requests(registry, "/orders/{order_id}", "2xx") == 3
        assert requests(registry, "/orders/{order_id}", "4xx") == 1
        assert requests(registry, "/orders/{order_id}", "5xx") == 1
        exposition = client.get("/metrics", headers={"Authorization": "Bearer a-token"}).text
        assert "ord_1" not in exposition
        duration = registry.get_sample_value(
            "shoptrail_http_request_duration_seconds_count",
            {"route": "/orders/{order_id}", "method": "GET"},
        )
        assert duration == 5

    def test_unknown_paths_share_one_series(self) -> None:
        app, registry = app_with_metrics()
        client = TestClient(app)
        for path in ("/wp-admin", "/.env", "/orders"):
            assert client.get(path).status_code == 404
        assert requests(registry, UNMATCHED, "4xx") == 3

    def test_a_request_refused_before_routing_is_labelled_with_its_route(self) -> None:
        app, registry = app_with_metrics()
        client = TestClient(app)
        assert client.get("/metrics").status_code == 401  # the guard answers, not the route
        assert requests(registry, "/metrics", "4xx") == 1
