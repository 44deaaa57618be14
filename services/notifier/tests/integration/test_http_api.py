"""The settings API (service token) and one-click unsubscribe pages, over HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import func, select

from shoptrail.notifier.adapters.tables import suppressions
from shoptrail.notifier.bootstrap import Notifier, create_app

pytestmark = pytest.mark.postgres

TOKEN = "test-service-token"
CUSTOMER = "customer@example.com"


@pytest.fixture
async def client(make_notifier: object) -> AsyncIterator[tuple[httpx.AsyncClient, Notifier]]:
    notifier: Notifier = await make_notifier(service_token=TOKEN)  # type: ignore[operator]
    app = create_app(notifier.settings, notifier, run_consumers=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://notifier") as http:
        yield http, notifier


async def _suppressed(notifier: Notifier) -> int:
    async with notifier.engine.connect() as conn:
        return int(await conn.scalar(select(func.count()).select_from(suppressions)) or 0)


class TestSettingsApi:
    async def test_settings_need_the_service_token(
        self, client: tuple[httpx.AsyncClient, Notifier]
    ) -> None:
        http, _ = client
        assert (await http.get("/settings")).status_code == 401
        wrong = {"Authorization": "Bearer nope"}
        assert (await http.put("/settings", json={}, headers=wrong)).status_code == 401

    async def test_the_sender_and_recovery_switch_are_stored_and_read_back(
        self, client: tuple[httpx.AsyncClient, Notifier]
    ) -> None:
        http, _ = client
        auth = {"Authorization": f"Bearer {TOKEN}"}
        assert (await http.get("/settings", headers=auth)).json()["recovery_enabled"] is False
        body = {
            "sender_name": "Inkwell Tees",
            "sender_address": "orders@inkwell.example",
            "recovery_enabled": True,
        }
        assert (await http.put("/settings", json=body, headers=auth)).status_code == 200
        assert (await http.get("/settings", headers=auth)).json() == body

    async def test_a_sender_name_that_could_inject_headers_is_refused(
        self, client: tuple[httpx.AsyncClient, Notifier]
    ) -> None:
        http, _ = client
        auth = {"Authorization": f"Bearer {TOKEN}"}
        body = {"sender_name": "Shop\r\nBcc: all@example.com", "sender_address": "a@b.example"}
        assert (await http.put("/settings", json=body, headers=auth)).status_code == 422


AUTH = {"Authorization": f"Bearer {TOKEN}"}


class TestSettingsAreCheckedAtTheDoor:
    auth = AUTH

    async def test_an_international_domain_is_stored_in_idna_form(
        self, client: tuple[httpx.AsyncClient, Notifier]
    ) -> None:
        http, _ = client
        body = {"sender_name": "Sam's Prints", "sender_address": "shop@exämple.com"}
        saved = await http.put("/settings", json=body, headers=self.auth)
        assert saved.status_code == 200
        assert saved.json()["sender_address"] == "shop@xn--exmple-cua.com"
        stored = await http.get("/settings", headers=self.auth)
        assert stored.json()["sender_address"] == "shop@xn--exmple-cua.com"

    async def test_a_non_ascii_local_part_is_refused_saying_so_and_nothing_changes(
        self, client: tuple[httpx.AsyncClient, Notifier]
    ) -> None:
        http, _ = client
        body = {"sender_name": "Sam's Prints", "sender_address": "shöp@samsprints.shop"}
        refused = await http.put("/settings", json=body, headers=self.auth)
        assert refused.status_code == 422
        (complaint,) = refused.json()["detail"]
        assert complaint["loc"] == ["body", "sender_address"]
        assert complaint["msg"].startswith("Sender address: the part before the @ contains 'ö'")
        assert "not ASCII" in complaint["msg"] and "SMTPUTF8" in complaint["msg"]
        stored = await http.get("/settings", headers=self.auth)
        assert stored.json()["sender_address"] == "hello@samsprints.shop"

    @pytest.mark.parametrize(
        "address",
        ["shop@example.com\r\nBcc: all@example.com", "shop@example.com\n", "sh\x00op@example.com"],
        ids=["crlf", "lf", "nul"],
    )
    async def test_an_address_with_control_characters_is_refused(
        self, client: tuple[httpx.AsyncClient, Notifier], address: str
    ) -> None:
        http, _ = client
        body = {"sender_name": "Sam", "sender_address": address}
        refused = await http.put("/settings", json=body, headers=self.auth)
        if "\x00" in address:  # refused at the door, before any route (shoptrail.kit.inputs)
            assert refused.status_code == 400
            assert "U+0000" in refused.json()["detail"]
            return
        assert refused.status_code == 422
        assert "control character" in refused.json()["detail"][0]["msg"]

    async def test_no_input_gets_a_server_error_only_a_4xx_that_names_the_problem(
        self, client: tuple[httpx.AsyncClient, Notifier]
    ) -> None:
        http, _ = client
        headers = self.auth | {"content-type": "application/json"}
        for raw in NASTY_BODIES:
            answer = await http.put("/settings", content=raw, headers=headers)
            # Not even UTF-8: FastAPI's 400; U+0000 or a lone surrogate: the door's 400.
            unstorable = raw.startswith(b"\xff") or b"\\ud" in raw or b"\\u0000" in raw
            expected = 400 if unstorable else 422
            assert answer.status_code == expected, raw[:60]
            detail = answer.json()["detail"]
            complaints = detail if isinstance(detail, list) else [{"msg": detail}]
            assert complaints and all(isinstance(c["msg"], str) and c["msg"] for c in complaints)
            assert all("input" not in c for c in complaints), "the input is never echoed"
        stored = await http.get("/settings", headers=self.auth)
        assert stored.json()["sender_address"] == "hello@samsprints.shop"


NASTY_BODIES = [
    b'{"sender_name": "\\ud800", "sender_address": "a@b.example"}',
    b'{"sender_name": "Sam", "sender_address": "\\udfff@b.example"}',
    b'{"\\ud800": 1}',
    b'{"sender_name": "Sam\\u0000", "sender_address": "a@b.example"}',
    b'{"sender_name": 5, "sender_address": ["a@b.example"]}',
    b'{"sender_name": {"nested": {"deeper": []}}}',
    b'{"recovery_enabled": "perhaps"}',
    b'{"sender_name": "' + b"S" * 100_000 + b'"}',
    b'{"sender_address": "' + b"a" * 100_000 + b'@b.example"}',
    b'{"sender_name": "Sam", "extra": true}',
    b"[]",
    b'"just a string"',
    b"{not json",
    b"\xff\xfe\x00",
]


class TestUnsubscribe:
    async def test_get_shows_a_confirmation_page_and_changes_nothing(
        self, client: tuple[httpx.AsyncClient, Notifier]
    ) -> None:
        http, notifier = client
        response = await http.get(f"/unsubscribe/{notifier.tokens.issue(CUSTOMER)}")
        assert response.status_code == 200
        assert '<form method="post"' in response.text
        assert CUSTOMER in response.text
        assert await _suppressed(notifier) == 0

    async def test_a_one_click_post_suppresses_and_a_replay_is_harmless(
        self, client: tuple[httpx.AsyncClient, Notifier]
    ) -> None:
        http, notifier = client
        url = f"/unsubscribe/{notifier.tokens.issue(CUSTOMER)}"
        for _ in range(2):
            response = await http.post(url, data={"List-Unsubscribe": "One-Click"})
            assert response.status_code == 200
            assert "unsubscribed" in response.text
        assert await _suppressed(notifier) == 1

    @pytest.mark.parametrize(
        "forge",
        [
            lambda token: token[:-2] + ("AA" if not token.endswith("AA") else "BB"),
            lambda token: "v1.b3RoZXJAZXhhbXBsZS5jb20." + token.rsplit(".", 1)[1],
            lambda token: "not-a-token",
        ],
        ids=["altered-signature", "other-address", "garbage"],
    )
    async def test_forged_or_altered_tokens_are_refused(
        self, client: tuple[httpx.AsyncClient, Notifier], forge: object
    ) -> None:
        http, notifier = client
        token = forge(notifier.tokens.issue(CUSTOMER))  # type: ignore[operator]
        assert (await http.get(f"/unsubscribe/{token}")).status_code == 400
        assert (await http.post(f"/unsubscribe/{token}")).status_code == 400
        assert await _suppressed(notifier) == 0
