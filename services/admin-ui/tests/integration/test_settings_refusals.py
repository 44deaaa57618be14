"""The settings page shows the owner the notifier's own words when it refuses a sender."""

from __future__ import annotations

import html

import httpx
import pytest

from shoptrail.admin_ui.devtools.harness import ActivityHandle, AdminClient, ServeAdmin, log_in

pytestmark = pytest.mark.postgres


async def test_a_sender_no_mail_server_would_take_is_refused_with_the_reason_shown(
    serve_admin: ServeAdmin, activity: ActivityHandle, notifier: str
) -> None:
    admin = await serve_admin(activity, notifier_url=notifier)
    async with httpx.AsyncClient(base_url=admin) as http:
        client = AdminClient(http, await log_in(http))
        refused = await client.post(
            "/admin/settings", {"sender_name": "Sam", "sender_address": "shöp@samsprints.shop"}
        )
        assert refused.status_code == 422
        shown = html.unescape(refused.text)
        assert "Not saved: Sender address: the part before the @ contains 'ö'" in shown
        assert "SMTPUTF8" in shown
        assert 'value="shöp@samsprints.shop"' in shown, "what the owner typed is kept"

        saved = await client.post(
            "/admin/settings", {"sender_name": "Sam", "sender_address": "shop@exämple.com"}
        )
        assert saved.status_code == 303
        page = await http.get("/admin/settings")
        assert 'value="shop@xn--exmple-cua.com"' in page.text, "stored in its IDNA form"
