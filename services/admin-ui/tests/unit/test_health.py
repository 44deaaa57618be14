"""The admin-ui app assembles from its settings and answers its health check."""

from __future__ import annotations

from fastapi.testclient import TestClient

from shoptrail.admin_ui.bootstrap import create_app
from shoptrail.admin_ui.config import Settings
from shoptrail.testing import free_port


def test_health_names_the_service() -> None:
    client = TestClient(create_app(Settings(environment="test")))
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "service": "admin-ui"}


def test_not_ready_while_the_activity_service_does_not_answer() -> None:
    nobody = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    with TestClient(create_app(Settings(environment="test", activity_url=nobody))) as client:
        ready = client.get("/readyz")
        alive = client.get("/healthz")
    assert ready.status_code == 503
    assert ready.json()["checks"]["activity"] is False
    assert alive.status_code == 200
