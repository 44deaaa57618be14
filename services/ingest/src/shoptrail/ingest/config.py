"""Settings for ingest, read from `INGEST_*` environment variables."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import NoDecode, SettingsConfigDict

from shoptrail.events import topics
from shoptrail.kit.settings import PLACEHOLDER_MARK, ServiceSettings, SigningSecret

SecretList = Annotated[tuple[SecretStr, ...], NoDecode, Field(min_length=1)]


class Settings(ServiceSettings):
    """Configuration of the ingest service.

    Secrets that may be rotated (Stripe's signing secrets, the email provider's)
    are comma-separated lists: every listed secret is accepted, so a new one can
    be added before the old one is retired.
    """

    model_config = SettingsConfigDict(env_prefix="INGEST_", frozen=True)

    host: str = Field(default="127.0.0.1", description="Address `serve` binds.")
    port: int = Field(default=8001, description="Port of the webhooks, `/healthz`, `/metrics`.")
    topic: str = Field(default=topics.INGEST, description="Where verified facts are published.")

    stripe_webhook_secrets: SecretList = Field(
        default=(SecretStr(f"whsec_{PLACEHOLDER_MARK}-stripe"),),
        description="Stripe's `whsec_…` signing secrets, comma-separated; any may match.",
    )
    stripe_api_key: SecretStr = Field(
        default=SecretStr(f"sk_test_{PLACEHOLDER_MARK}"),
        description="Stripe API key: line items and refunds lookups, `reconcile`.",
    )
    stripe_api_base: str = Field(
        default="https://api.stripe.com",
        description="Stripe's API (`make dev`: `shoptrail-ingest fake-stripe`, a fake of it).",
    )
    stripe_api_timeout_seconds: float = Field(
        default=10.0, description="Longest wait for one Stripe API call."
    )
    stripe_signature_tolerance_seconds: int = Field(
        default=300, description="Oldest Stripe signature timestamp accepted."
    )
    clock_skew_seconds: int = Field(
        default=30, description="How far in the future a signature timestamp may be."
    )

    printify_webhook_secret: SigningSecret = Field(
        default=SecretStr(f"{PLACEHOLDER_MARK}-printify"),
        description="HMAC key of Printify's `X-Pfy-Signature` (one we choose).",
    )
    printful_webhook_secret_key: SecretStr = Field(
        default=SecretStr(f"{PLACEHOLDER_MARK}-printful"),
        description="The hex `secret_key` Printful returns when the v2 webhook is set up.",
    )
    provider_event_max_age_seconds: int = Field(
        default=3 * 86400,
        gt=0,
        description=(
            "Printify and Printful sign no timestamp: an event whose own date is older than "
            "this (longer than either retries a webhook) is refused as a replay (401)."
        ),
    )
    email_webhook_secrets: SecretList = Field(
        default=(SecretStr(f"whsec_{PLACEHOLDER_MARK}-email"),),
        description="The email provider's Standard Webhooks `whsec_…` secrets, comma-separated.",
    )
    email_signature_tolerance_seconds: int = Field(
        default=300, description="Oldest email-provider signature timestamp accepted."
    )

    max_body_bytes: int = Field(
        default=512 * 1024, gt=0, description="A larger webhook body is answered 413."
    )
    publish_timeout_seconds: float = Field(
        default=5.0, gt=0, description="After this long without Kafka's ack, answer 503."
    )

    deadline_seconds: float = Field(
        default=5.0,
        gt=0,
        description=(
            "A webhook not answered within this is answered 503 (senders retry; well inside "
            "their own timeouts, so no sender resends one still being handled)."
        ),
    )
    max_waiting: int = Field(
        default=32,
        gt=0,
        description=(
            "Connections waiting for ingest to take them (its socket's accept queue) past "
            "which each webhook taken is answered 503 at once, so the queue drains."
        ),
    )
    max_in_flight: int = Field(
        default=64, gt=0, description="Webhooks handled at once; one more is answered 503."
    )
    max_loop_lag_seconds: float = Field(
        default=0.5,
        ge=0,
        description=(
            "When the event loop has run later than this all through the last second, new "
            "webhooks are answered 503 (requests are queueing); 0 turns the check off."
        ),
    )
    overload_retry_after_seconds: int = Field(
        default=5, gt=0, description="`Retry-After` on a 503 for being too busy."
    )

    @field_validator("stripe_webhook_secrets", "email_webhook_secrets", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value
