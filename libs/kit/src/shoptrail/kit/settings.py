"""The settings rules every service follows: dev defaults are refused in production."""

from __future__ import annotations

from typing import Annotated, Any, Literal, Self

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode

PLACEHOLDER_MARK = "dev-only"
"""Default secrets contain this mark; they work in dev and test, never in prod."""


class ServiceSettings(BaseSettings):
    """Base for each service's `Settings` (which adds its own `env_prefix` and fields)."""

    environment: Literal["dev", "test", "prod"] = "dev"
    kafka_bootstrap: str = "127.0.0.1:9092"
    service_token: SecretStr = SecretStr(f"{PLACEHOLDER_MARK}-service-token")
    log_level: str = "INFO"
    rehearse_failures_for: Annotated[tuple[str, ...], NoDecode] = Field(
        default=(),
        description=(
            "Dev and test only (refused in prod): comma-separated order ids whose events make "
            "this service's consumer fail, to rehearse the failure model (retries, dead letter, "
            "the error entry) on a running shop."
        ),
    )

    @field_validator("rehearse_failures_for", mode="before")
    @classmethod
    def _comma_separated_ids(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @model_validator(mode="after")
    def _no_placeholder_secrets_outside_dev(self) -> Self:
        if self.environment == "prod" and self.rehearse_failures_for:
            raise ValueError("rehearse_failures_for is for dev and test, never prod")
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
