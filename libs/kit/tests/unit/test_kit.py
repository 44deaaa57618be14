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
from shoptrail.kit.settings import (
    ServiceSettings,
    SigningSecret,
    estimated_bits,
    secret_problem,
)

STRONG = "Xq7_vKp2-Lm9sT4wZ0aB8nR3cY6dF1gH5jE"  # 35 characters, 4 classes: ~230 bits
SIGNING = "q3Zr8-Wm1aYtK7vP0sLx4Nd2Bf9Hc6Jg5Ue_Ro8TyIk"  # token_urlsafe(32): ~265 bits


class DemoSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="KIT_DEMO_")

    webhook_secrets: tuple[SecretStr, ...] = (SecretStr("whsec_dev-only"),)
    session_secret: SigningSecret = SecretStr("dev-only-session")


def prod(**secrets: object) -> DemoSettings:
    values: dict[str, object] = {
        "service_token": SecretStr(SIGNING),
        "webhook_secrets": (SecretStr(STRONG),),
        "session_secret": SecretStr(SIGNING[::-1]),
    }
    values.update(secrets)
    return DemoSettings(environment="prod", **values)  # type: ignore[arg-type]


class TestSecretsInProd:
    def test_placeholders_are_fine_in_dev_and_test(self) -> None:
        assert DemoSettings(environment="dev").service_token.get_secret_value()
        assert DemoSettings(environment="test")

    def test_placeholders_are_refused_in_prod_naming_each_one(self) -> None:
        with pytest.raises(ValidationError) as refused:
            DemoSettings(environment="prod")
        for name in ("service_token", "session_secret", "webhook_secrets"):
            assert f"{name} is a dev placeholder" in str(refused.value)

    def test_real_secrets_pass_in_prod(self) -> None:
        assert prod().environment == "prod"

    @pytest.mark.parametrize(
        ("name", "value", "why"),
        [
            ("session_secret", "", "is empty"),
            ("service_token", "x", "shorter than 16"),
            ("service_token", "DEV-ONLY-service-token-from-vault", "dev placeholder"),
            ("session_secret", "Dev-Only" + SIGNING, "dev placeholder"),
            ("webhook_secrets", "   ", "is empty"),
            ("webhook_secrets", "tiny1", "shorter than 16"),
            # Long enough, but not random enough for a key we sign with.
            ("session_secret", "correct horse battery", "32 bytes of entropy"),
            ("service_token", "ab" * 40, "32 bytes of entropy"),
            ("service_token", "0123456789" * 3, "32 bytes of entropy"),
        ],
    )
    def test_weak_secrets_are_refused_in_prod(self, name: str, value: str, why: str) -> None:
        secret: object = (SecretStr(value),) if name == "webhook_secrets" else SecretStr(value)
        with pytest.raises(ValidationError, match=why) as refused:
            prod(**{name: secret})
        assert name in str(refused.value)
        assert value.strip() == "" or value not in str(refused.value), "no secret in the error"

    def test_a_provider_issued_secret_need_not_be_a_signing_key(self) -> None:
        assert prod(webhook_secrets=(SecretStr("whsec_0123456789abcdef"),))

    def test_entropy_estimate(self) -> None:
        assert estimated_bits(SIGNING) >= 256
        assert estimated_bits("a" * 10) < 50
        assert estimated_bits("") == 0
        assert secret_problem(SIGNING, signing=True) is None

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
