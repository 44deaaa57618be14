"""The outgoing alert webhook: Slack-compatible JSON, signed the Standard Webhooks way."""

from __future__ import annotations

import json
import uuid

import httpx

from shoptrail.notifier.domain.alerts import sign_webhook


class WebhookError(Exception):
    """The webhook did not take the alert (refused, unreachable, timed out)."""


async def post_alert(
    url: str,
    text: str,
    *,
    secret: str | None,
    timestamp: int,
    timeout: float,
    transport: httpx.AsyncBaseTransport | None = None,
) -> str:
    """POST `{"text": …}` with webhook-id/-timestamp/-signature headers; the message id."""
    msg_id = f"msg_{uuid.uuid4().hex}"
    payload = json.dumps({"text": text}).encode()
    headers = {
        "content-type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
    }
    if secret:
        headers["webhook-signature"] = sign_webhook(secret, msg_id, timestamp, payload)
    try:
        async with httpx.AsyncClient(timeout=timeout, transport=transport) as client:
            response = await client.post(url, content=payload, headers=headers)
    except httpx.HTTPError as error:
        raise WebhookError(f"{type(error).__name__}: {error}"[:300]) from error
    if response.status_code >= 300:
        raise WebhookError(f"HTTP {response.status_code}")
    return msg_id
