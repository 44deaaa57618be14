"""HTTP edges that need no Kafka: body limits, refusals, documentation, metrics, settings."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from shoptrail.ingest.bootstrap import create_app
from shoptrail.ingest.config import Settings
from shoptrail.ingest.entrypoints.cli import main

WEBHOOKS = ("/webhooks/stripe", "/webhooks/printify", "/webhooks/printful", "/webhooks/email")


@pytest.fixture
def client() -> TestClient:
    """The app, never started: any attempt to publish would fail, so refusals are all it can do."""
    return TestClient(create_app(Settings(environment="test", max_body_bytes=1024)))


class TestBodyLimit:
    @pytest.mark.parametrize("path", WEBHOOKS)
    def test_oversized_body_is_refused_with_413_before_any_check(
        self, client: TestClient, path: str
    ) -> None:
        response = client.post(path, content=b"x" * 1025)
        assert response.status_code == 413
        assert response.json()["error"] == "body_too_large"

    def test_a_streamed_body_without_length_is_cut_off_too(self, client: TestClient) -> None:
        def chunks() -> Iterator[bytes]:
            for _ in range(10):
                yield b"y" * 512

        response = client.post("/webhooks/stripe", content=chunks())
        assert response.status_code == 413

    def test_refusals_are_counted_by_sender_and_reason(self, client: TestClient) -> None:
        client.post("/webhooks/printful", content=b"x" * 2048)
        client.post("/webhooks/printful", content=b"{}")
        metrics = client.get("/metrics").text
        assert (
            'ingest_webhooks_rejected_total{reason="body_too_large",sender="printful"} 1.0'
            in metrics
        )
        assert (
            'ingest_webhooks_rejected_total{reason="missing_signature",sender="printful"} 1.0'
            in metrics
        )


def test_openapi_documents_every_webhook_with_its_refusals(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    for path in WEBHOOKS:
        operation = spec["paths"][path]["post"]
        assert {"200", "400", "401", "413", "503"} <= set(operation["responses"])
        assert "application/json" in operation["requestBody"]["content"]


class TestSettings:
    def test_prod_refuses_the_dev_placeholder_secrets(self) -> None:
        with pytest.raises(ValidationError, match="stripe_webhook_secrets"):
            Settings(environment="prod")

    def test_rotated_secrets_are_read_from_a_comma_separated_variable(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("INGEST_STRIPE_WEBHOOK_SECRETS", "whsec_new, whsec_old")
        secrets = [s.get_secret_value() for s in Settings().stripe_webhook_secrets]
        assert secrets == ["whsec_new", "whsec_old"]


class TestCli:
    def test_reconcile_help_explains_what_it_lists_and_that_reruns_are_safe(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        with pytest.raises(SystemExit) as exited:
            main(["reconcile", "--help"])
        out = capsys.readouterr().out
        assert exited.value.code == 0
        assert "delivery_success=false" in out and "Safe to run" in out

    def test_a_duration_beyond_stripes_retention_is_refused(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        with pytest.raises(SystemExit) as exited:
            main(["reconcile", "--since", "45d"])
        assert exited.value.code == 2
        assert "at most 30d" in capsys.readouterr().err
