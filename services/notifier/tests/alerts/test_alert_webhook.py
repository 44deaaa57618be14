"""The alert webhook: a real local HTTP server checks the Standard Webhooks signature."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from shoptrail.kit.serving import served
from shoptrail.notifier.adapters.clock import ManualClock
from shoptrail.testing.waiting import eventually

from .conftest import ADMIN, Shop, failure

pytestmark = [pytest.mark.kafka, pytest.mark.postgres, pytest.mark.slow]

SECRET = "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def verified(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """The receiver's side of Standard Webhooks, written independently of the sender."""
    key = base64.b64decode(secret.split("_", 1)[1])
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    signatures = headers["webhook-signature"].split()
    offered = [s.split(",", 1)[1] for s in signatures if s.startswith("v1,")]
    return any(hmac.compare_digest(expected, sig) for sig in offered)


class Receiver:
    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.received: list[tuple[dict[str, str], bytes]] = []

    async def hook(self, request: Request) -> Response:
        self.received.append((dict(request.headers), await request.body()))
        return Response(status_code=self.status)

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/hook", self.hook, methods=["POST"])])


async def test_the_webhook_gets_signed_slack_json_with_a_link(
    shop: Shop, smtp: Any, clock: ManualClock
) -> None:
    receiver = Receiver()
    async with served(receiver.app()) as base:
        await shop.configure(email=None, webhook_url=f"{base}/hook", webhook_secret=SECRET)
        event = failure("ord_HOOK01", clock)
        await shop.publish([event])
        await shop.logged_and_noted([event])
        await shop.dispatch()

    [(headers, body)] = receiver.received
    assert verified(SECRET, headers, body)
    assert not verified("whsec_" + base64.b64encode(b"x" * 24).decode(), headers, body)
    assert int(headers["webhook-timestamp"]) == int(clock.now().timestamp())
    assert headers["content-type"] == "application/json"
    [entry] = await shop.open_entries([event])
    assert f"<{ADMIN}/admin/entries/{entry['entry_id']}|" in json.loads(body)["text"]
    assert smtp.messages == []  # no email address set: the webhook alone
    await eventually(lambda: _logged(shop, "alert.sent"), "alert.sent in the activity log")


async def test_a_refusing_webhook_is_one_alert_failed(shop: Shop, clock: ManualClock) -> None:
    receiver = Receiver(status=500)
    async with served(receiver.app()) as base:
        await shop.configure(email=None, webhook_url=f"{base}/hook", webhook_secret=SECRET)
        event = failure("ord_HOOK02", clock)
        await shop.publish([event])
        await shop.logged_and_noted([event])
        await shop.dispatch()

    assert len(receiver.received) == 1
    await eventually(lambda: _logged(shop, "alert.failed"), "alert.failed in the activity log")
    assert (await shop.feed_types()).count("alert.failed") == 1


async def _logged(shop: Shop, event_type: str) -> bool:
    return event_type in await shop.feed_types()
