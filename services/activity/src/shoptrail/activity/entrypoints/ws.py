"""The live WebSocket: authenticated, origin-checked, size- and rate-limited, session-bound.

`GET /ws[?feed=1][&order=<id>][&since=<seq>]`, then the client's first message
`{"type": "auth", "token": "…"}` (token from `POST /api/ws-tokens`) within
`AUTH_TIMEOUT_S`; the token never travels in a URL, so no access log or proxy
keeps it. (`?token=` is still accepted from scripts.) A token minted for an
admin session works only while that session is live, and the socket closes
(4001, "session ended") within a second of logout, expiry or idleness, on
every replica. A session has at most `ws_max_sockets_per_session` sockets per
replica.

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
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, WebSocket
from pydantic import BaseModel, Field
from starlette.websockets import WebSocketDisconnect

from shoptrail.activity.adapters.sessions import SessionStore, session_hash
from shoptrail.activity.config import Settings
from shoptrail.activity.realtime.client import Client, Interest
from shoptrail.activity.realtime.hub import Hub
from shoptrail.activity.realtime.sessions import SessionWatch, TooManySocketsError
from shoptrail.activity.realtime.tokens import InvalidTokenError, mint, verify
from shoptrail.activity.realtime.wire import RawSocket
from shoptrail.kit.inputs import BIGINT_MAX

router = APIRouter()
tokens = APIRouter(prefix="/api", tags=["live"])

TOKEN_INVALID, ORIGIN_REFUSED, POLICY, TOO_BIG = 4001, 4003, 1008, 1009
AUTH_TIMEOUT_S = 10.0


class LiveTokenOut(BaseModel):
    token: str
    expires_at: datetime
    url: str


class LiveTokenIn(BaseModel):
    subject: str = Field(default="admin", max_length=64)
    session: str | None = Field(
        default=None,
        max_length=128,
        description="The admin session the socket belongs to: it closes when the session ends.",
    )


@tokens.post(
    "/ws-tokens",
    response_model=LiveTokenOut,
    responses={404: {"description": "The session has ended."}},
)
async def live_token(request: Request, body: LiveTokenIn) -> LiveTokenOut:
    """A short-lived token for one browser's live WebSocket (sent as its first message)."""
    settings: Settings = request.app.state.settings
    bound = None
    if body.session is not None:
        bound = session_hash(body.session)
        store: SessionStore = request.app.state.sessions
        if await store.live(bound) is None:
            raise HTTPException(404, "the session has ended")
    token, expires = mint(
        settings.ws_token_secret.get_secret_value().encode(),
        subject=body.subject,
        ttl=timedelta(seconds=settings.ws_token_ttl_seconds),
        now=datetime.now(UTC),
        session=bound,
    )
    return LiveTokenOut(token=token, expires_at=expires, url=settings.live_url)


class SessionIn(BaseModel):
    user: str = Field(min_length=1, max_length=64)
    lifetime_s: int = Field(gt=0, le=30 * 86400, description="Absolute lifetime.")
    idle_s: int = Field(gt=0, le=30 * 86400, description="Ends if not seen this long.")


class SessionOut(BaseModel):
    session: str = Field(description="The session id: a secret, kept only by the admin's cookie.")
    expires_at: datetime


class SessionRef(BaseModel):
    session: str = Field(min_length=1, max_length=128)


class SessionSeenOut(BaseModel):
    user: str
    expires_at: datetime


@tokens.post("/sessions", response_model=SessionOut, status_code=201)
async def create_session(request: Request, body: SessionIn) -> SessionOut:
    """Start an admin session (at login). Ids travel in bodies, never in URLs."""
    store: SessionStore = request.app.state.sessions
    session, expires = await store.create(body.user, lifetime_s=body.lifetime_s, idle_s=body.idle_s)
    return SessionOut(session=session, expires_at=expires)


@tokens.post(
    "/sessions/seen",
    response_model=SessionSeenOut,
    responses={404: {"description": "Revoked, expired or idle: log in again."}},
)
async def session_seen(request: Request, body: SessionRef) -> SessionSeenOut:
    """The session's user if it is live (its idle clock restarts); 404 once it has ended."""
    store: SessionStore = request.app.state.sessions
    found = await store.seen(body.session)
    if found is None:
        raise HTTPException(404, "the session has ended")
    return SessionSeenOut(user=found.username, expires_at=found.expires_at)


@tokens.post("/sessions/revoke", status_code=204)
async def revoke_session(request: Request, body: SessionRef) -> None:
    """End the session (logout): every socket of it closes within a second. Idempotent."""
    store: SessionStore = request.app.state.sessions
    await store.revoke(body.session)


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


async def _first_message_token(websocket: WebSocket) -> str:
    """The token of the client's `{"type": "auth", "token": …}` (or "" if it says anything else)."""
    with contextlib.suppress(TimeoutError, ValueError, KeyError, TypeError):
        async with asyncio.timeout(AUTH_TIMEOUT_S):
            message = json.loads(await websocket.receive_text())
            if message["type"] == "auth" and isinstance(message["token"], str):
                return str(message["token"])
    return ""


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
    watch: SessionWatch = websocket.app.state.session_watch
    if websocket.headers.get("origin") not in settings.allowed_origins:
        await websocket.close(code=ORIGIN_REFUSED)
        return
    in_url = bool(token)
    if not in_url:
        await websocket.accept()
        token = await _first_message_token(websocket)

    async def refuse(code: int, reason: str) -> None:
        # Before the handshake is answered a refusal is an HTTP 403 (scripts passing
        # `?token=`); after it, a close frame with the code and reason.
        await websocket.close(code=code, reason=None if in_url else reason)

    try:
        claims = verify(
            settings.ws_token_secret.get_secret_value().encode(), token, now=datetime.now(UTC)
        )
    except InvalidTokenError:
        await refuse(TOKEN_INVALID, "invalid token")
        return
    ended: asyncio.Event | None = None
    expires_at, lapse = claims.expires_at, "token expired"
    if claims.session is not None:
        session = await watch.store.live(claims.session)
        if session is None:
            await refuse(TOKEN_INVALID, "session ended")
            return
        if session.expires_at < expires_at:
            expires_at, lapse = session.expires_at, "session ended"
    if in_url:
        await websocket.accept()
    if claims.session is not None:
        try:
            ended = watch.register(claims.session)
        except TooManySocketsError as refused:
            await websocket.close(code=POLICY, reason=str(refused))
            return
    client = Client(
        send=websocket.send_text,
        interest=Interest(feed=feed, order_id=order),
        raw=RawSocket.of(websocket),
    )
    hub.clients.add(client)
    tasks: list[asyncio.Task[Any]] = []
    try:
        seq, count = await hub.hello()
        start = seq if since is None else min(since, seq)
        await websocket.send_text(client.hello(start, count))
        if since is not None:
            await hub.catch_up(client, since)
        lifetime = (expires_at - datetime.now(UTC)).total_seconds()
        tasks = [
            asyncio.create_task(client.run()),
            asyncio.create_task(_receive(websocket, settings)),
        ]
        session_end = asyncio.create_task(ended.wait()) if ended else None
        done, _ = await asyncio.wait(
            [*tasks, *([session_end] if session_end else [])],
            timeout=max(lifetime, 0),
            return_when=asyncio.FIRST_COMPLETED,
        )
        if session_end is not None:
            tasks.append(session_end)
        finished = done.pop() if done else None
        if finished is None:
            await websocket.close(code=TOKEN_INVALID, reason=lapse)
        elif finished is session_end:
            await websocket.close(code=TOKEN_INVALID, reason="session ended")
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
        if ended is not None and claims.session is not None:
            watch.unregister(claims.session, ended)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(BaseException):
                await task
