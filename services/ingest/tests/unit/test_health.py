"""The ingest app assembles from its settings and answers its health check."""

from __future__ import annotations

from fastapi.testclient import TestClient

from shoptrail.ingest.bootstrap import create_app
from shoptrail.ingest.config import Settings


def test_health_names_the_service() -> None:
    client = TestClient(create_app(Settings(environment="test")))
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "service": "ingest"}
