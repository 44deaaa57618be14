"""The notifier's settings: sender identity and abandoned-cart recovery."""

from __future__ import annotations

import httpx

from shoptrail.admin_ui.adapters.http import call
from shoptrail.admin_ui.domain.models import ShopSettings

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
