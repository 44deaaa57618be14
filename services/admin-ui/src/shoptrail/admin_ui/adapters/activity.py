"""The activity service's API: feed, counts, entries, resolve actions, orders, live tokens."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import quote

import httpx

from shoptrail.admin_ui.adapters.http import call
from shoptrail.admin_ui.domain.feed_query import FeedQuery
from shoptrail.admin_ui.domain.models import (
    Entry,
    EntryDetail,
    FeedChanges,
    FeedPage,
    LiveToken,
    Note,
    Order,
    OrdersPage,
)
from shoptrail.admin_ui.domain.orders_query import OrdersQuery
from shoptrail.admin_ui.service_layer.ports import NotFoundError, UpstreamError

SERVICE = "activity"


class ActivityClient:
    """`ActivityPort` over HTTP."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client

    async def answers(self, timeout: float = 2.0) -> bool:
        """A real round trip to the activity service (its liveness route), for `/readyz`."""
        try:
            response = await self._client.get("/healthz", timeout=timeout)
        except httpx.HTTPError:
            return False
        return response.status_code == 200

    async def _get(self, path: str, **kwargs: object) -> httpx.Response:
        return await call(self._client, SERVICE, "GET", path, **kwargs)

    async def _post(self, path: str, note: str | None = None, **kwargs: object) -> httpx.Response:
        return await call(self._client, SERVICE, "POST", path, json={"note": note}, **kwargs)

    async def feed(self, query: FeedQuery, *, limit: int) -> FeedPage:
        response = await self._get("/api/feed", params=query.api_params(limit))
        return FeedPage.model_validate(response.json())

    async def feed_changes(self, query: FeedQuery, *, since: int) -> FeedChanges:
        params = [*query.filter_params(), ("since", str(since))]
        response = await self._get("/api/feed/changes", params=params)
        return FeedChanges.model_validate(response.json())

    async def attention_count(self) -> int:
        return int((await self._get("/api/attention/count")).json()["count"])

    async def entry(self, entry_id: int) -> Entry:
        return Entry.model_validate((await self._get(f"/api/entries/{entry_id}")).json())

    async def resolve(self, entry_id: int, *, note: str | None, dismiss: bool) -> Entry:
        action = "dismiss" if dismiss else "resolve"
        response = await self._post(f"/api/entries/{entry_id}/{action}", note)
        return Entry.model_validate(response.json())

    async def resolve_matching(self, query: FeedQuery, *, note: str | None) -> int:
        response = await self._post("/api/feed/resolve", note, params=query.filter_params())
        return int(response.json()["resolved"])

    async def resolve_order(self, order_id: str, *, note: str | None) -> int:
        response = await self._post(f"/api/orders/{quote(order_id, safe='')}/resolve", note)
        return int(response.json()["resolved"])

    async def orders(self, query: OrdersQuery, *, limit: int) -> OrdersPage:
        response = await self._get("/api/orders", params=query.api_params(limit))
        return OrdersPage.model_validate(response.json())

    async def feed_csv(self, query: FeedQuery) -> AsyncIterator[bytes]:
        """The feed's CSV as the activity service streams it, chunk by chunk (never buffered).

        The first chunk comes only once the service has answered 2xx, so a caller
        that waits for it can still answer an error page.
        """
        params = httpx.QueryParams(tuple(query.filter_params()))
        request = self._client.build_request("GET", "/api/feed.csv", params=params)
        try:
            response = await self._client.send(request, stream=True)
        except httpx.HTTPError as exc:
            raise UpstreamError(SERVICE, f"not answering ({type(exc).__name__})") from exc
        try:
            if not response.is_success:
                await response.aread()
                raise UpstreamError(SERVICE, f"answered {response.status_code}")
            async for chunk in response.aiter_bytes():
                yield chunk
        finally:
            await response.aclose()

    async def order(self, order_id: str) -> Order:
        return Order.model_validate(
            (await self._get(f"/api/orders/{quote(order_id, safe='')}")).json()
        )

    async def timeline(self, order_id: str) -> list[Entry]:
        response = await self._get(f"/api/orders/{quote(order_id, safe='')}/timeline")
        return [Entry.model_validate(e) for e in response.json()]

    async def entry_detail(self, entry_id: int) -> EntryDetail:
        response = await self._get(f"/api/entries/{entry_id}/detail")
        return EntryDetail.model_validate(response.json())

    async def add_note(self, order_id: str, *, author: str, text: str, note_id: str) -> Note:
        """Answered once Kafka has the note; the same `note_id` again makes no second note."""
        response = await call(
            self._client,
            SERVICE,
            "POST",
            f"/api/orders/{quote(order_id, safe='')}/notes",
            json={"author": author, "text": text},
            headers={"Idempotency-Key": note_id},
        )
        return Note.model_validate(response.json())

    async def live_token(self, subject: str, *, session: str) -> LiveToken:
        body = {"subject": subject, "session": session}
        response = await call(self._client, SERVICE, "POST", "/api/ws-tokens", json=body)
        return LiveToken.model_validate(response.json())

    async def start_session(self, user: str, *, lifetime_s: int, idle_s: int) -> str:
        body = {"user": user, "lifetime_s": lifetime_s, "idle_s": idle_s}
        response = await call(self._client, SERVICE, "POST", "/api/sessions", json=body)
        return str(response.json()["session"])

    async def session_user(self, session: str) -> str | None:
        try:
            response = await call(
                self._client, SERVICE, "POST", "/api/sessions/seen", json={"session": session}
            )
        except NotFoundError:
            return None
        return str(response.json()["user"])

    async def end_session(self, session: str) -> None:
        await call(self._client, SERVICE, "POST", "/api/sessions/revoke", json={"session": session})
