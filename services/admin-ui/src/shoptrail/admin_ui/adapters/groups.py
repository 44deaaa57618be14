"""The activity service's grouped-failures API (`/api/groups`), over the same HTTP client."""

from __future__ import annotations

import httpx

from shoptrail.admin_ui.adapters.http import call
from shoptrail.admin_ui.domain.groups import Group, GroupDetail

SERVICE = "activity"


class GroupsClient:
    """List groups, read one with its entries and orders, resolve one."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client

    async def groups(self, *, state: str = "open", limit: int = 50) -> list[Group]:
        response = await call(
            self._client, SERVICE, "GET", "/api/groups", params={"state": state, "limit": limit}
        )
        return [Group.model_validate(g) for g in response.json()]

    async def group(self, fingerprint: str) -> GroupDetail:
        response = await call(self._client, SERVICE, "GET", f"/api/groups/{fingerprint}")
        return GroupDetail.model_validate(response.json())

    async def resolve(self, fingerprint: str, *, note: str | None) -> int:
        response = await call(
            self._client, SERVICE, "POST", f"/api/groups/{fingerprint}/resolve", json={"note": note}
        )
        return int(response.json()["resolved"])
