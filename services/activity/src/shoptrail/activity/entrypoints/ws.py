"""The live WebSocket: authenticated, origin-checked, size- and rate-limited.

`GET /ws?token=…[&feed=1][&order=<id>][&since=<seq>]`, token from `POST /api/ws-tokens`.
The server sends JSON text messages, each with `seq` (grows with every committed
change; a message with a lower `seq` than one already seen is stale) and `count`
(the authoritative needs-attention count):

- `{"type": "hello", "seq", "count"}` first; then what was missed since `since`;
- `{"type": "entries", "seq", "count", "entries": [...]}` new or changed entries
  (feed subscribers: all but debug; `order=`: that order's), as `LiveEntryOut`:
  no payload, which the HTTP API serves;
- `{"type": "badge", "seq", "count"}` the count alone, at most every 250 ms;
- `{"type": "reload", "seq", "count"}` too far behind: fetch the page again.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request, WebSocket
from pydantic import BaseModel
from starlette.websockets import WebSocketDisconnect

from shoptrail.activity.config import Settings
from shoptrail.activity.realtime.client import Client, Interest
from shoptrail.activity.realtime.hub import Hub
from shoptrail.activity.realtime.tokens import InvalidTokenError, mint, verify
from shoptrail.kit.inputs import BIGINT_MAX

router = APIRouter()
tokens = APIRouter(prefix="/api", tags=["live"])

TOKEN_INVALID, ORIGIN_REFUSED, POLICY, TOO_BIG = 4001, 4003, 1008, 1009


class LiveTokenOut(BaseModel):
    token: str
    expires_at: datetime
    url: str


class LiveTokenIn(BaseModel):
    subject: str = "admin"


@tokens.post("/ws-tokens", response_model=LiveTokenOut)
async def live_token(request: Request, body: LiveTokenIn) -> LiveTokenOut:
    """A short-lived token for one browser to open the live WebSocket (`?token=`)."""
    settings: Settings = request.app.state.settings
    token, expires = mint(
        settings.ws_token_secret.get_secret_value().encode(),
        subject=body.subject,
        ttl=timedelta(seconds=settings.ws_token_ttl_seconds),
        now=datetime.now(UTC),
    )
    return LiveTokenOut(token=token, expires_at=expires, url=settings.live_url)


class PolicyViolationError(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code, self.reason = code, reason


async def _receive(websocket: WebSocket, settings: Settings) -> None:
    """Clients have nothing to say; they may ping. Oversized or chatty clients are closed."""
    allowance, last = float(settings.ws_burst), time.monotonic()
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return
        size = len(message.get("text") or "") + len(message.get("bytes") or b"")
        if size > settings.ws_max_message_bytes:
            raise PolicyViolationError(TOO_BIG, "message too big")
        now = time.monotonic()
        allowance = min(
            settings.ws_burst, allowance + (now - last) * settings.ws_messages_per_second
        )
        last = now
        if allowance < 1:
            raise PolicyViolationError(POLICY, "too many messages")
        allowance -= 1


@router.websocket("/ws")
async def live(
    websocket: WebSocket,
    token: str = "",
    since: Annotated[int | None, Query(ge=0, le=BIGINT_MAX)] = None,
    feed: bool = False,
    order: str | None = None,
) -> None:
    """Badge counts always; new/changed feed entries with `feed=1`; one order's with `order=`."""
    settings: Settings = websocket.app.state.settings
    hub: Hub = websocket.app.state.hub
    if websocket.headers.get("origin") not in settings.allowed_origins:
        await websocket.close(code=ORIGIN_REFUSED)
        return
    try:
        claims = verify(
            settings.ws_token_secret.get_secret_value().encode(), token, now=datetime.now(UTC)
        )
    except InvalidTokenError:
        await websocket.close(code=TOKEN_INVALID)
        return
    await websocket.accept()
    client = Client(send=websocket.send_text, interest=Interest(feed=feed, order_id=order))
    hub.clients.add(client)
    tasks: list[asyncio.Task[None]] = []
    try:
        seq, count = await hub.hello()
        start = seq if since is None else min(since, seq)
        await websocket.send_text(client.hello(start, count))
        if since is not None:
            await hub.catch_up(client, since)
        lifetime = (claims.expires_at - datetime.now(UTC)).total_seconds()
        tasks = [
            asyncio.create_task(client.run()),
            asyncio.create_task(_receive(websocket, settings)),
        ]
        done, _ = await asyncio.wait(
            tasks, timeout=max(lifetime, 0), return_when=asyncio.FIRST_COMPLETED
        )
        finished = done.pop() if done else None
        if finished is None:
            await websocket.close(code=TOKEN_INVALID, reason="token expired")
        elif isinstance(finished.exception(), PolicyViolationError):
            error = finished.exception()
            assert isinstance(error, PolicyViolationError)
            await websocket.close(code=error.code, reason=error.reason)
        elif isinstance(finished.exception(), TimeoutError):
            await websocket.close(code=POLICY, reason="too slow; reload")
    except WebSocketDisconnect:
        pass
    finally:
        hub.clients.discard(client)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(BaseException):
                await task
