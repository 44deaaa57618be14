"""The settings rules every service follows: dev defaults are refused in production."""

from __future__ import annotations

from typing import Literal, Self

from pydantic import SecretStr, model_validator
from pydantic_settings import BaseSettings

PLACEHOLDER_MARK = "dev-only"
"""Default secrets contain this mark; they work in dev and test, never in prod."""


class ServiceSettings(BaseSettings):
    """Base for each service's `Settings` (which adds its own `env_prefix` and fields)."""

    environment: Literal["dev", "test", "prod"] = "dev"
    kafka_bootstrap: str = "127.0.0.1:9092"
    service_token: SecretStr = SecretStr(f"{PLACEHOLDER_MARK}-service-token")
    log_level: str = "INFO"

    @model_validator(mode="after")
    def _no_placeholder_secrets_outside_dev(self) -> Self:
        if self.environment == "prod":
            offending = [
                name
                for name, value in self
                if isinstance(value, SecretStr) and PLACEHOLDER_MARK in value.get_secret_value()
            ]
            offending += [
                name
                for name, value in self
                if isinstance(value, tuple | list)
                and any(
                    isinstance(v, SecretStr) and PLACEHOLDER_MARK in v.get_secret_value()
                    for v in value
                )
            ]
            if offending:
                raise ValueError(
                    f"placeholder secrets are not allowed in prod: {', '.join(sorted(offending))}"
                )
        return self
