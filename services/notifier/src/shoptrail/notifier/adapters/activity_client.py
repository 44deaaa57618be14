"""Asking activity which events are open entries (`POST /api/entries/open`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from uuid import UUID

import httpx
from pydantic import SecretStr

from shoptrail.notifier.domain.alerts import AlertItem

PAGE = 1000
"""activity answers about this many events a request."""


@dataclass
class OpenAnswer:
    open: dict[UUID, AlertItem] = field(default_factory=dict)
    closed: set[UUID] = field(default_factory=set)
    unlogged: set[UUID] = field(default_factory=set)


class ActivityEntries:
    """activity's view of events: open (warning/error, unresolved), closed, or not logged."""

    def __init__(
        self,
        base_url: str,
        token: SecretStr,
        *,
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._base_url, self._token = base_url, token
        self._timeout, self._transport = timeout, transport

    async def which_open(self, event_ids: Sequence[UUID]) -> OpenAnswer:
        """Raises httpx errors when activity cannot answer (the caller tries again later)."""
        answer = OpenAnswer()
        headers = {"Authorization": f"Bearer {self._token.get_secret_value()}"}
        async with httpx.AsyncClient(
            base_url=self._base_url,
            headers=headers,
            timeout=self._timeout,
            transport=self._transport,
        ) as client:
            for start in range(0, len(event_ids), PAGE):
                page = [str(e) for e in event_ids[start : start + PAGE]]
                response = await client.post("/api/entries/open", json={"event_ids": page})
                response.raise_for_status()
                body = response.json()
                for entry in body["open"]:
                    answer.open[UUID(entry["event_id"])] = AlertItem(
                        entry_id=int(entry["entry_id"]),
                        title=str(entry["title"]),
                        level=str(entry["level"]),
                        order_id=entry.get("order_id"),
                        fingerprint=entry.get("fingerprint"),
                    )
                answer.closed.update(UUID(e) for e in body["closed"])
                answer.unlogged.update(UUID(e) for e in body["pending"])
        return answer
