"""`GET/PUT /settings/alerts` over HTTP on real PostgreSQL: stored, checked, secret hidden."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator

import httpx
import pytest

from shoptrail.notifier.bootstrap import Notifier, create_app

pytestmark = pytest.mark.postgres

TOKEN = "test-service-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
SECRET = "whsec_" + base64.b64encode(b"0123456789abcdef0123").decode()


@pytest.fixture
async def http(make_notifier: object) -> AsyncIterator[httpx.AsyncClient]:
    notifier: Notifier = await make_notifier(service_token=TOKEN)  # type: ignore[operator]
    app = create_app(notifier.settings, notifier, run_consumers=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://notifier") as client:
        yield client


async def test_needs_the_service_token(http: httpx.AsyncClient) -> None:
    assert (await http.get("/settings/alerts")).status_code == 401
    assert (await http.put("/settings/alerts", json={})).status_code == 401


async def test_stored_and_read_back_with_the_secret_only_as_a_hint(
    http: httpx.AsyncClient,
) -> None:
    defaults = (await http.get("/settings/alerts", headers=AUTH)).json()
    assert defaults["enabled"] is False and defaults["digest_minutes"] == 15
    body = {
        "enabled": True,
        "email": "owner@samsprints.example",
        "digest_minutes": 5,
        "quiet_start": "22:00",
        "quiet_end": "07:00",
        "timezone": "Europe/London",
        "webhook_url": "https://hooks.example/T1/B2",
        "webhook_secret": SECRET,
    }
    saved = await http.put("/settings/alerts", json=body, headers=AUTH)
    assert saved.status_code == 200, saved.text
    read = (await http.get("/settings/alerts", headers=AUTH)).json()
    assert SECRET not in str(read)
    assert read["webhook_secret_hint"] == f"whsec_…{SECRET[-4:]}"
    assert {k: read[k] for k in body if k != "webhook_secret"} == {
        k: v for k, v in body.items() if k != "webhook_secret"
    }
    # without a secret the stored one is kept; an empty one clears it
    kept = {k: v for k, v in body.items() if k != "webhook_secret"}
    assert (await http.put("/settings/alerts", json=kept, headers=AUTH)).status_code == 200
    assert (await http.get("/settings/alerts", headers=AUTH)).json()["webhook_secret_hint"]
    cleared = kept | {"webhook_secret": ""}
    assert (await http.put("/settings/alerts", json=cleared, headers=AUTH)).status_code == 200
    assert (await http.get("/settings/alerts", headers=AUTH)).json()["webhook_secret_hint"] is None


@pytest.mark.parametrize(
    "bad",
    [
        {"digest_minutes": 0},
        {"email": "not an address"},
        {"quiet_start": "22:00"},
        {"quiet_start": "25:00", "quiet_end": "07:00"},
        {"timezone": "Mars/Olympus"},
        {"webhook_url": "ftp://hooks.example"},
        {"webhook_secret": "sekrit"},
        {"surprise": True},
    ],
)
async def test_refuses_what_could_not_work(http: httpx.AsyncClient, bad: dict[str, object]) -> None:
    response = await http.put("/settings/alerts", json={"enabled": True} | bad, headers=AUTH)
    assert response.status_code == 422, response.text
