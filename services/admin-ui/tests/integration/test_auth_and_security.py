"""Login, sessions, CSRF and security headers, with the real activity service behind."""

from __future__ import annotations

import asyncio
import logging
import time

import httpx
import pytest

from shoptrail.admin_ui.config import DEV_PASSWORD
from shoptrail.admin_ui.devtools.harness import ActivityHandle, AdminClient, ServeAdmin, Story

pytestmark = pytest.mark.postgres

ADMIN_PAGES = [
    "/admin/activity",
    "/admin/activity?tab=attention",
    "/admin/orders",
    "/admin/orders/ord_1",
    "/admin/settings",
    "/admin/live-token",
]


class TestLogin:
    async def test_every_page_redirects_to_login_without_a_session(self, admin: str) -> None:
        async with httpx.AsyncClient(base_url=admin) as http:
            for path in ADMIN_PAGES:
                response = await http.get(path)
                assert response.status_code == 303, path
                assert response.headers["location"].startswith("/admin/login?next=%2Fadmin%2F")
            script = await http.get(
                "/admin/activity/rows?since=0", headers={"X-Requested-With": "fetch"}
            )
            assert script.status_code == 401

    async def test_logging_in_returns_to_the_page_asked_for(self, admin: str) -> None:
        async with httpx.AsyncClient(base_url=admin) as http:
            login = await http.get("/admin/orders?q=SS-1", follow_redirects=True)
            assert 'name="next" value="/admin/orders?q=SS-1"' in login.text
            token = login.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
            response = await http.post(
                "/admin/login",
                data={
                    "username": "admin",
                    "password": DEV_PASSWORD,
                    "csrf_token": token,
                    "next": "/admin/orders?q=SS-1",
                },
            )
            assert response.status_code == 303
            assert response.headers["location"] == "/admin/orders?q=SS-1"
            cookie = response.headers["set-cookie"].lower()
            assert "httponly" in cookie and "samesite=lax" in cookie
            assert (await http.get("/admin/orders")).status_code == 200

    async def test_a_wrong_password_is_refused_and_starts_no_session(self, admin: str) -> None:
        async with httpx.AsyncClient(base_url=admin) as http:
            login = await http.get("/admin/login")
            token = login.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
            response = await http.post(
                "/admin/login",
                data={"username": "admin", "password": "guess", "csrf_token": token},
            )
            assert response.status_code == 401
            assert "Wrong user name or password." in response.text
            assert (await http.get("/admin/activity")).status_code == 303

    async def test_a_refused_login_logs_no_user_name(
        self, admin: str, caplog: pytest.LogCaptureFixture
    ) -> None:
        """Owners type passwords into the name field: what was typed stays out of the log."""
        typed = "my-Password-typed-in-the-name-field"
        caplog.set_level(logging.DEBUG)
        async with httpx.AsyncClient(base_url=admin) as http:
            login = await http.get("/admin/login")
            token = login.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
            response = await http.post(
                "/admin/login", data={"username": typed, "password": "x", "csrf_token": token}
            )
        assert response.status_code == 401
        assert any(r.getMessage() == "login refused" for r in caplog.records)
        for record in caplog.records:
            assert typed not in record.getMessage()
            assert typed not in str(vars(record))

    async def test_logout_ends_the_session(self, client: AdminClient) -> None:
        assert (await client.http.get("/admin/activity")).status_code == 200
        response = await client.post("/admin/logout")
        assert response.status_code == 303
        assert (await client.http.get("/admin/activity")).status_code == 303


class TestCsrf:
    async def test_a_post_without_the_token_is_refused(
        self, client: AdminClient, activity: ActivityHandle, story: Story
    ) -> None:
        (entry_id,) = await activity.log(story.at(0, story.sync_failed()))
        path = f"/admin/activity/entries/{entry_id}/resolve"
        assert (await client.http.post(path, data={"note": "x"})).status_code == 403
        wrong = await client.http.post(path, data={"csrf_token": "forged"})
        assert wrong.status_code == 403
        assert (await client.http.post(path, headers={"X-CSRF-Token": "forged"})).status_code == 403
        cross_site = await client.post(path, headers={"Sec-Fetch-Site": "cross-site"})
        assert cross_site.status_code == 403
        # The right token from another site (or a sandboxed frame) is refused too.
        for origin in ("http://evil.example", "null", str(client.http.base_url).rstrip("/") + "1"):
            elsewhere = await client.post(path, headers={"Origin": origin})
            assert elsewhere.status_code == 403, origin
        assert (await activity.api("GET", f"/api/entries/{entry_id}"))["needs_attention"]
        same_site = await client.post(
            path, headers={"Origin": str(client.http.base_url).rstrip("/")}
        )
        assert same_site.status_code == 303
        assert not (await activity.api("GET", f"/api/entries/{entry_id}"))["needs_attention"]
        (entry_id,) = await activity.log(story.at(1, story.sync_failed()))
        path = f"/admin/activity/entries/{entry_id}/resolve"

        accepted = await client.http.post(path, headers={"X-CSRF-Token": client.csrf})
        assert accepted.status_code == 303
        assert not (await activity.api("GET", f"/api/entries/{entry_id}"))["needs_attention"]

    async def test_logging_in_needs_the_login_forms_token(self, admin: str) -> None:
        async with httpx.AsyncClient(base_url=admin) as http:
            response = await http.post(
                "/admin/login", data={"username": "admin", "password": DEV_PASSWORD}
            )
            assert response.status_code == 403


async def test_security_headers(client: AdminClient, activity: ActivityHandle) -> None:
    response = await client.http.get("/admin/activity")
    csp = response.headers["content-security-policy"]
    assert "script-src 'self';" in csp and "unsafe-inline" not in csp
    assert f"connect-src 'self' {activity.url.replace('http://', 'ws://')}" in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "no-store"
    assert "<script>" not in response.text  # no inline script anywhere on the page


def waits_ended_within(seconds: float, cap_s: float) -> int:
    """How many of the throttle's doubling waits (1 s, 2 s, 4 s … capped) end within `seconds`."""
    ended, spent, wait = 0, 0.0, 1.0
    while spent + wait <= seconds:
        spent += wait
        ended += 1
        wait = min(wait * 2, cap_s)
    return ended


class TestLoginThrottling:
    async def test_hammering_logins_gets_429s_and_the_owner_still_gets_in(
        self, serve_admin: ServeAdmin, activity: ActivityHandle
    ) -> None:
        """200 wrong passwords, 8 at a time (the probe): most are refused before any verify."""
        cap_s = 8.0
        admin = await serve_admin(
            activity, login_max_user_delay_s=cap_s, login_max_address_delay_s=cap_s
        )
        async with httpx.AsyncClient(base_url=admin, timeout=60) as http:
            login = await http.get("/admin/login")
            token = login.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
            limit = asyncio.Semaphore(8)

            async def guess(n: int) -> httpx.Response:
                async with limit:
                    return await http.post(
                        "/admin/login",
                        data={"username": "admin", "password": f"guess-{n}", "csrf_token": token},
                    )

            started = time.monotonic()
            answers = await asyncio.gather(*(guess(n) for n in range(200)))
            elapsed = time.monotonic() - started
            statuses = [a.status_code for a in answers]
            assert set(statuses) <= {401, 429}
            # The free tries and those already in flight; then each wait that ended while
            # the burst went on (1 s, 2 s, 4 s … capped: how many depends on how slow the
            # machine is) lets at most the 8 in flight be checked again.
            ended = waits_ended_within(elapsed, cap_s)
            assert statuses.count(401) <= 5 + 8 + 8 * ended, (statuses.count(401), elapsed)
            assert statuses.count(429) >= 200 - (5 + 8 + 8 * ended)
            throttled = next(a for a in answers if a.status_code == 429)
            assert int(throttled.headers["Retry-After"]) >= 1
            assert "Too many tries. Try again in" in throttled.text

            # The owner's right password works once the (capped) wait is over.
            async with asyncio.timeout(60):
                while True:
                    response = await http.post(
                        "/admin/login",
                        data={"username": "admin", "password": DEV_PASSWORD, "csrf_token": token},
                    )
                    if response.status_code == 303:
                        break
                    assert response.status_code == 429
                    await asyncio.sleep(int(response.headers["Retry-After"]))
