"""Settings rules, service-token auth and log format."""

from __future__ import annotations

import json
import logging

import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr, ValidationError
from pydantic_settings import SettingsConfigDict

from shoptrail.kit.auth import service_token_guard
from shoptrail.kit.logging import JsonFormatter
from shoptrail.kit.settings import ServiceSettings


class DemoSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="KIT_DEMO_")

    webhook_secrets: tuple[SecretStr, ...] = (SecretStr("whsec_dev-only"),)


class TestPlaceholderSecrets:
    def test_are_fine_in_dev_and_test(self) -> None:
        assert DemoSettings(environment="dev").service_token.get_secret_value()
        assert DemoSettings(environment="test")

    def test_are_refused_in_prod_naming_each_one(self) -> None:
        with pytest.raises(ValidationError, match="service_token, webhook_secrets"):
            DemoSettings(environment="prod")

    def test_real_secrets_pass_in_prod(self) -> None:
        settings = DemoSettings(
            environment="prod",
            service_token=SecretStr("s3cr3t-from-vault"),
            webhook_secrets=(SecretStr("whsec_real"),),
        )
        assert settings.environment == "prod"

    def test_secrets_never_show_in_repr(self) -> None:
        assert "dev-only" not in repr(DemoSettings())


class TestServiceToken:
    def client(self) -> TestClient:
        app = FastAPI()
        guard = service_token_guard(SecretStr("right"))

        @app.get("/private", dependencies=[Depends(guard)])
        async def private() -> dict[str, bool]:
            return {"ok": True}

        return TestClient(app)

    def test_the_right_token_is_admitted(self) -> None:
        response = self.client().get("/private", headers={"Authorization": "Bearer right"})
        assert response.json() == {"ok": True}

    @pytest.mark.parametrize("header", [None, "Bearer wrong", "Basic cmlnaHQ="])
    def test_anything_else_is_refused(self, header: str | None) -> None:
        headers = {"Authorization": header} if header else {}
        response = self.client().get("/private", headers=headers)
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"


def test_log_lines_are_json_with_extra_fields() -> None:
    record = logging.makeLogRecord(
        {"name": "t", "levelno": 30, "levelname": "WARNING", "msg": "dead-lettered", "offset": 7}
    )
    entry = json.loads(JsonFormatter().format(record))
    assert entry["message"] == "dead-lettered"
    assert entry["offset"] == 7
    assert entry["level"] == "warning"
