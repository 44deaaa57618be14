"""The settings rules every service follows: dev defaults and weak secrets are refused in prod.

In production (`*_ENVIRONMENT=prod`, the Docker image's default) every secret
must be set (not empty), hold no dev placeholder in any case, and be at least
`MIN_SECRET_CHARS` long; a *signing* secret, one we choose ourselves (service
tokens, session, WebSocket and unsubscribe signing keys, the Printify webhook
secret), must carry at least `MIN_SIGNING_BITS` of entropy, as
`python -c 'import secrets; print(secrets.token_urlsafe(32))'` makes.
Secrets a provider issues (Stripe's keys, API tokens) are theirs to size.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Annotated, Any, Literal, Self

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode

from shoptrail.events.kafka_access import (
    DEFAULT_MECHANISM,
    KafkaAccess,
    SaslMechanism,
    SecurityProtocol,
)

PLACEHOLDER_MARK = "dev-only"
"""Default secrets contain this mark; they work in dev and test, never in prod."""

MIN_SECRET_CHARS = 16
"""Shortest secret of any kind accepted in prod."""

MIN_SIGNING_BITS = 256
"""Entropy a signing secret must carry in prod (32 random bytes)."""

MIN_DISTINCT_CHARS = 12
"""A long secret of few distinct characters (`aaaa…`, `abab…`) is not random."""


class Signing:
    """Marks a secret we choose and sign with: `Annotated[SecretStr, Signing()]`."""

    def __repr__(self) -> str:
        return "Signing()"


SigningSecret = Annotated[SecretStr, Signing()]


def estimated_bits(secret: str) -> float:
    """Entropy of `secret` were each character drawn at random from the classes it uses.

    An upper estimate (a word is far weaker than its letters say), good enough
    to refuse what is plainly too short or too repetitive.
    """
    pool = sum(
        size
        for present, size in (
            (any(c.islower() for c in secret), 26),
            (any(c.isupper() for c in secret), 26),
            (any(c.isdigit() for c in secret), 10),
            (any(not c.isalnum() for c in secret), 33),
        )
        if present
    )
    return len(secret) * math.log2(pool) if pool else 0.0


def secret_problem(value: str, *, signing: bool) -> str | None:
    """Why `value` is no production secret, or None."""
    if not value.strip():
        return "is empty"
    if PLACEHOLDER_MARK in value.lower():
        return "is a dev placeholder"
    if len(value) < MIN_SECRET_CHARS:
        return f"is shorter than {MIN_SECRET_CHARS} characters"
    if signing and (
        estimated_bits(value) < MIN_SIGNING_BITS or len(set(value)) < MIN_DISTINCT_CHARS
    ):
        return (
            f"holds less than {MIN_SIGNING_BITS // 8} bytes of entropy (make one with "
            "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`)"
        )
    return None


class ServiceSettings(BaseSettings):
    """Base for each service's `Settings` (which adds its own `env_prefix` and fields)."""

    environment: Literal["dev", "test", "prod"] = Field(
        default="dev",
        description="`prod` refuses dev placeholders and weak secrets (the image's default).",
    )
    kafka_bootstrap: str = Field(
        default="127.0.0.1:9092", description="Kafka bootstrap servers, `host:port[,host:port…]`."
    )
    kafka_username: str | None = Field(
        default=None,
        description=(
            "This service's own Kafka user on a guarded bus (SASL/SCRAM; the ACLs let it write "
            'only its own topics, see "The bus\'s users and ACLs"). Unset: no SASL.'
        ),
    )
    kafka_password: SecretStr | None = Field(
        default=None, description="Password of `kafka_username` (required with it)."
    )
    kafka_sasl_mechanism: SaslMechanism = Field(
        default=DEFAULT_MECHANISM, description="SASL mechanism of `kafka_username`."
    )
    kafka_security_protocol: SecurityProtocol | None = Field(
        default=None,
        description=(
            "`PLAINTEXT`, `SASL_PLAINTEXT` or `SASL_SSL` (default: `SASL_PLAINTEXT` with a "
            "username, `PLAINTEXT` without)."
        ),
    )
    service_token: SigningSecret = Field(
        default=SecretStr(f"{PLACEHOLDER_MARK}-service-token"),
        description=(
            "Bearer token of this service's HTTP API; in prod `/metrics`, `/docs` and "
            "`/openapi.json` ask for it too."
        ),
    )
    log_level: str = Field(
        default="INFO", description="Least severe level logged (`DEBUG`, `INFO`, `WARNING` …)."
    )
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

    @property
    def kafka(self) -> KafkaAccess:
        """Where Kafka is and who this service is to it: what every Kafka client is given."""
        return KafkaAccess(
            bootstrap=self.kafka_bootstrap,
            username=self.kafka_username,
            password=self.kafka_password,
            mechanism=self.kafka_sasl_mechanism,
            security_protocol=self.kafka_security_protocol,
        )

    @model_validator(mode="after")
    def _kafka_user_complete(self) -> Self:
        try:
            self.kafka  # noqa: B018 - built to check the combination, as clients will
        except ValueError as exc:
            raise ValueError(f"kafka settings: {exc}") from None
        return self

    @model_validator(mode="after")
    def _strong_secrets_in_prod(self) -> Self:
        if self.environment != "prod":
            return self
        if self.rehearse_failures_for:
            raise ValueError("rehearse_failures_for is for dev and test, never prod")
        problems = [
            f"{name} {problem}"
            for name, value, signing in self._secrets()
            if (problem := secret_problem(value, signing=signing))
        ]
        if problems:
            raise ValueError("weak secrets are not allowed in prod: " + "; ".join(problems))
        return self

    def _secrets(self) -> Iterator[tuple[str, str, bool]]:
        """(setting name, secret value, is it a signing secret) of every secret setting."""
        for name, field in type(self).model_fields.items():
            signing = any(isinstance(m, Signing) for m in field.metadata)
            value = getattr(self, name)
            values = value if isinstance(value, tuple | list) else (value,)
            for item in values:
                if isinstance(item, SecretStr):
                    yield name, item.get_secret_value(), signing
