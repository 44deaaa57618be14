"""The notifier's settings: sender identity, abandoned-cart recovery, alerts to the owner."""

from __future__ import annotations

from typing import Any

import httpx

from shoptrail.admin_ui.adapters.http import call
from shoptrail.admin_ui.domain.models import AlertSettings, ShopSettings

SERVICE = "notifier"


class NotifierClient:
    """`NotifierPort` over HTTP (`GET`/`PUT /settings`)."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client

    async def read_settings(self) -> ShopSettings:
        response = await call(self._client, SERVICE, "GET", "/settings")
        return ShopSettings.model_validate(response.json())

    async def write_settings(self, settings: ShopSettings) -> ShopSettings:
        response = await call(self._client, SERVICE, "PUT", "/settings", json=settings.model_dump())
        return ShopSettings.model_validate(response.json())

    async def read_alert_settings(self) -> AlertSettings:
        response = await call(self._client, SERVICE, "GET", "/settings/alerts")
        return AlertSettings.model_validate(response.json())

    async def write_alert_settings(self, wanted: dict[str, Any]) -> AlertSettings:
        """PUT `/settings/alerts`; a missing `webhook_secret` keeps the stored one."""
        response = await call(self._client, SERVICE, "PUT", "/settings/alerts", json=wanted)
        return AlertSettings.model_validate(response.json())
