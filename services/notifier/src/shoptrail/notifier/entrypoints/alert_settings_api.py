"""`GET/PUT /settings/alerts`: how the owner hears about entries that need attention.

Service-token auth like `/settings`. The webhook secret is write-only: reads
show a hint (`whsec_…wxyz`), and a PUT without one keeps the stored secret.
"""

from __future__ import annotations

from datetime import time
from typing import Annotated
from urllib.parse import urlsplit
from zoneinfo import available_timezones

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from shoptrail.kit.auth import AUTH_RESPONSES, service_token_guard
from shoptrail.notifier.config import Settings
from shoptrail.notifier.domain import addresses
from shoptrail.notifier.domain.alerts import AlertSettings, valid_webhook_secret
from shoptrail.notifier.entrypoints.api import NotifierDep, _checked, _RefusesCleanly

MAX_DIGEST_MINUTES = 24 * 60
HHMM = Annotated[str, Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$", examples=["22:00"])]


class AlertSettingsView(BaseModel):
    enabled: bool = False
    email: str | None = Field(default=None, examples=["owner@samsprints.example"])
    digest_minutes: int = Field(default=15, ge=1, le=MAX_DIGEST_MINUTES)
    quiet_start: HHMM | None = None
    quiet_end: HHMM | None = None
    timezone: str = Field(default="UTC", examples=["Europe/London"])
    webhook_url: str | None = Field(default=None, max_length=2000)
    webhook_secret_hint: str | None = Field(
        default=None, description="The stored secret's prefix and last 4 characters."
    )


class AlertSettingsBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = False
    email: str | None = Field(default=None, max_length=addresses.MAX_ADDRESS)
    digest_minutes: int = Field(default=15, ge=1, le=MAX_DIGEST_MINUTES)
    quiet_start: HHMM | None = None
    quiet_end: HHMM | None = None
    timezone: str = Field(default="UTC", max_length=64)
    webhook_url: str | None = Field(default=None, max_length=2000)
    webhook_secret: str | None = Field(
        default=None,
        max_length=200,
        description="`whsec_` + base64 key; absent keeps the stored one, empty clears it.",
    )

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        return _checked(addresses.smtp_address, value or None)

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        if value not in available_timezones():
            raise ValueError("not a known time zone (e.g. Europe/London)")
        return value

    @field_validator("webhook_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if not value:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("an http(s) address, e.g. https://hooks.slack.com/services/…")
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _secret(cls, value: str | None) -> str | None:
        if value and not valid_webhook_secret(value):
            raise ValueError("whsec_ followed by a base64 key of at least 16 bytes")
        return value

    @model_validator(mode="after")
    def _quiet_hours_pair(self) -> AlertSettingsBody:
        if (self.quiet_start is None) != (self.quiet_end is None):
            raise ValueError("quiet hours need both a start and an end")
        return self


def hint(secret: str | None) -> str | None:
    return f"whsec_…{secret[-4:]}" if secret else None


def view(chosen: AlertSettings) -> AlertSettingsView:
    return AlertSettingsView(
        enabled=chosen.enabled,
        email=chosen.email,
        digest_minutes=chosen.digest_minutes,
        quiet_start=chosen.quiet_start.strftime("%H:%M") if chosen.quiet_start else None,
        quiet_end=chosen.quiet_end.strftime("%H:%M") if chosen.quiet_end else None,
        timezone=chosen.timezone,
        webhook_url=chosen.webhook_url,
        webhook_secret_hint=hint(chosen.webhook_secret),
    )


def alert_settings_router(settings: Settings) -> APIRouter:
    router = APIRouter(
        prefix="/settings/alerts",
        tags=["settings"],
        dependencies=[Depends(service_token_guard(settings.service_token))],
        responses=AUTH_RESPONSES,
        route_class=_RefusesCleanly,
    )

    @router.get("")
    async def read_alerts(notifier: NotifierDep) -> AlertSettingsView:
        """Where alerts go, how often digests may go, quiet hours; the secret as a hint."""
        chosen, _ = await notifier.alerting.store.settings()
        return view(chosen)

    @router.put("")
    async def replace_alerts(body: AlertSettingsBody, notifier: NotifierDep) -> AlertSettingsView:
        """Replace the alert settings; a missing `webhook_secret` keeps the stored one."""
        store = notifier.alerting.store
        current, _ = await store.settings()
        secret = current.webhook_secret if body.webhook_secret is None else body.webhook_secret
        wanted = AlertSettings(
            enabled=body.enabled,
            email=body.email,
            digest_minutes=body.digest_minutes,
            quiet_start=time.fromisoformat(body.quiet_start) if body.quiet_start else None,
            quiet_end=time.fromisoformat(body.quiet_end) if body.quiet_end else None,
            timezone=body.timezone,
            webhook_url=body.webhook_url,
            webhook_secret=secret or None,
        )
        await store.save_settings(wanted, now=notifier.clock.now())
        return view(wanted)

    return router
