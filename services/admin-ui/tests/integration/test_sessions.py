"""Sessions that end: logout, lifetime and idleness end them everywhere, sockets included.

The probe behind issue 14: a cookie captured before logout still opened the
admin and carried POSTs; a live socket opened before logout kept receiving
for minutes; a token minted before logout still opened a socket.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from shoptrail.admin_ui.devtools.harness import ActivityHandle, AdminClient, ServeAdmin, log_in

pytestmark = pytest.mark.postgres


def replay(client: AdminClient) -> httpx.AsyncClient:
    """Another client holding a copy of the session cookie, as a thief would."""
    copy = httpx.AsyncClient(base_url=client.http.base_url, follow_redirects=False, timeout=20)
    copy.cookies.update(client.http.cookies)
    return copy


async def test_a_cookie_captured_before_logout_opens_nothing_after_it(
    client: AdminClient,
) -> None:
    async with replay(client) as thief:
        assert (await thief.get("/admin/activity")).status_code == 200
        assert (await client.post("/admin/logout")).status_code == 303

        assert (await thief.get("/admin/activity")).status_code == 303
        posted = await thief.post(
            "/admin/settings",
            data={"csrf_token": client.csrf, "sender_name": "Thief", "sender_address": "t@x.io"},
        )
        assert posted.status_code in (303, 401, 403)
        assert posted.headers.get("location", "/admin/login").startswith("/admin/login")
        assert (await thief.get("/admin/live-token")).status_code in (303, 401)


async def test_logging_in_starts_a_new_session_a_planted_cookie_does_not_share(
    admin: str,
) -> None:
    """Session fixation: a cookie handed to the victim before login opens nothing after it."""
    async with httpx.AsyncClient(base_url=admin, follow_redirects=False) as victim:
        await victim.get("/admin/login")  # an anonymous session (its CSRF token)
        async with httpx.AsyncClient(base_url=admin, follow_redirects=False) as planter:
            planter.cookies.update(victim.cookies)
            await log_in(victim)
            assert (await victim.get("/admin/activity")).status_code == 200
            assert (await planter.get("/admin/activity")).status_code == 303


async def test_a_session_ends_at_its_absolute_lifetime_however_busy(
    serve_admin: ServeAdmin, activity: ActivityHandle
) -> None:
    admin = await serve_admin(activity, session_lifetime_s=3)
    async with httpx.AsyncClient(base_url=admin, follow_redirects=False) as http:
        await log_in(http)
        async with asyncio.timeout(60):
            while (await http.get("/admin/activity")).status_code == 200:
                await asyncio.sleep(0.5)  # busy all along: the lifetime ends it anyway
        assert (await http.get("/admin/activity")).status_code == 303


async def _live_socket(client: AdminClient) -> tuple[Any, str, str]:
    """A socket as the page opens it: (connection, its token, the socket's URL)."""
    ticket = (await client.http.get("/admin/live-token")).json()
    origin = str(client.http.base_url).rstrip("/")
    conn = await connect(f"{ticket['url']}?feed=1", origin=origin)  # type: ignore[arg-type]
    await conn.send(json.dumps({"type": "auth", "token": ticket["token"]}))
    hello = json.loads(await asyncio.wait_for(conn.recv(), 30))
    assert hello["type"] == "hello"
    return conn, ticket["token"], ticket["url"]


async def test_logout_closes_the_live_socket_and_its_tokens_open_nothing(
    client: AdminClient,
) -> None:
    conn, _, url = await _live_socket(client)
    _, spare, _ = await _live_socket(client)  # a second tab, its token kept
    loop = asyncio.get_running_loop()
    logged_out = loop.time()
    assert (await client.post("/admin/logout")).status_code == 303
    with pytest.raises(ConnectionClosed):
        while True:  # badge frames may still be in flight; then the close
            await asyncio.wait_for(conn.recv(), 30)
    took = loop.time() - logged_out
    assert (conn.close_code, conn.close_reason) == (4001, "session ended")
    print(f"live socket closed {took:.2f} s after logout")

    origin = str(client.http.base_url).rstrip("/")
    async with connect(url, origin=origin) as again:  # type: ignore[arg-type]
        await again.send(json.dumps({"type": "auth", "token": spare}))
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(again.recv(), 30)
        assert (again.close_code, again.close_reason) == (4001, "session ended")


async def test_one_session_cannot_open_a_thousand_sockets(client: AdminClient) -> None:
    opened, refused = [], 0
    try:
        for _ in range(15):
            ticket = (await client.http.get("/admin/live-token")).json()
            origin = str(client.http.base_url).rstrip("/")
            conn = await connect(ticket["url"], origin=origin)  # type: ignore[arg-type]
            await conn.send(json.dumps({"type": "auth", "token": ticket["token"]}))
            try:
                first = json.loads(await asyncio.wait_for(conn.recv(), 30))
                assert first["type"] == "hello"
                opened.append(conn)
            except ConnectionClosed:
                assert conn.close_code == 1008
                refused += 1
    finally:
        for conn in opened:
            await conn.close()
    assert (len(opened), refused) == (10, 5)
