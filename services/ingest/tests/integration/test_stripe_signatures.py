"""Only genuine, fresh Stripe webhooks are published; everything else is refused and counted."""

from __future__ import annotations

import time
from typing import Any

import pytest

pytestmark = pytest.mark.kafka

ORDER = {"metadata": {"order_id": "ord_sig"}}


@pytest.fixture
async def app_settings(
    new_topic: Any, stripe_api: Any, kafka_bootstrap: str, settings_for: Any
) -> Any:
    return settings_for(
        topic=await new_topic("ingest-sig"),
        stripe_api_base=stripe_api.url,
        kafka_bootstrap=kafka_bootstrap,
    )


def refund_body(payloads: Any) -> bytes:
    body: bytes = payloads.body(payloads.stripe_event("charge.refunded", payloads.charge(**ORDER)))
    return body


def tampered(payloads: Any) -> tuple[bytes, dict[str, str]]:
    body = refund_body(payloads)
    headers = payloads.stripe_headers(body)
    return body.replace(b'"amount": 4300', b'"amount": 1'), headers


def wrong_secret(payloads: Any) -> tuple[bytes, dict[str, str]]:
    body = refund_body(payloads)
    return body, payloads.stripe_headers(body, secret="whsec_attacker")


def unsigned(payloads: Any) -> tuple[bytes, dict[str, str]]:
    return refund_body(payloads), {"Content-Type": "application/json"}


def stale(payloads: Any) -> tuple[bytes, dict[str, str]]:
    body = refund_body(payloads)
    return body, payloads.stripe_headers(body, timestamp=int(time.time()) - 301)


def future(payloads: Any) -> tuple[bytes, dict[str, str]]:
    body = refund_body(payloads)
    return body, payloads.stripe_headers(body, timestamp=int(time.time()) + 120)


def garbage_header(payloads: Any) -> tuple[bytes, dict[str, str]]:
    return refund_body(payloads), {"Stripe-Signature": "v1=deadbeef"}


@pytest.mark.parametrize(
    ("make_request", "reason"),
    [
        (tampered, "bad_signature"),
        (wrong_secret, "bad_signature"),
        (unsigned, "missing_signature"),
        (stale, "stale_signature"),
        (future, "future_signature"),
        (garbage_header, "malformed_signature"),
    ],
    ids=["tampered-body", "wrong-secret", "missing-header", "301s-old", "future", "garbage-header"],
)
async def test_refused_with_a_clear_error_nothing_published_and_counted(
    make_request: Any,
    reason: str,
    app_settings: Any,
    ingest_client: Any,
    payloads: Any,
    topic_size: Any,
) -> None:
    body, headers = make_request(payloads)
    async with ingest_client(app_settings) as client:
        response = await client.post("/webhooks/stripe", content=body, headers=headers)
        metrics = (await client.get("/metrics")).text

    assert response.status_code == 401
    assert response.json()["error"] == reason
    assert response.json()["detail"]
    assert f'ingest_webhooks_rejected_total{{reason="{reason}",sender="stripe"}} 1.0' in metrics
    assert await topic_size(app_settings.topic) == 0


async def test_299_seconds_old_is_accepted(
    app_settings: Any, ingest_client: Any, payloads: Any, topic_size: Any
) -> None:
    body = refund_body(payloads)
    async with ingest_client(app_settings) as client:
        response = await client.post(
            "/webhooks/stripe",
            content=body,
            headers=payloads.stripe_headers(body, timestamp=int(time.time()) - 299),
        )

    assert response.status_code == 200
    assert await topic_size(app_settings.topic) == 1


async def test_both_rotated_secrets_are_accepted(
    app_settings: Any, ingest_client: Any, payloads: Any, topic_size: Any
) -> None:
    async with ingest_client(app_settings) as client:
        for secret in ("whsec_test_current", "whsec_test_previous"):
            body = payloads.body(
                payloads.stripe_event(
                    "charge.refunded", payloads.charge(**ORDER), id=f"evt_{secret}"
                )
            )
            response = await client.post(
                "/webhooks/stripe",
                content=body,
                headers=payloads.stripe_headers(body, secret=secret),
            )
            assert response.status_code == 200, secret

    assert await topic_size(app_settings.topic) == 2


async def test_genuinely_signed_but_unreadable_body_is_a_400(
    app_settings: Any, ingest_client: Any, payloads: Any, topic_size: Any
) -> None:
    body = b'{"id": "evt_x", "type": "checkout.session.completed"}'
    async with ingest_client(app_settings) as client:
        response = await client.post(
            "/webhooks/stripe", content=body, headers=payloads.stripe_headers(body)
        )

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_payload"
    assert await topic_size(app_settings.topic) == 0


@pytest.mark.parametrize("body", [b"[]", b'"event"', b"42", b"null", b'[{"id": "evt_1"}]'])
async def test_a_genuinely_signed_body_that_is_no_event_is_a_400_not_a_500(
    app_settings: Any, ingest_client: Any, payloads: Any, body: bytes
) -> None:
    """Found by the signed schemathesis run: `[]` reached the Stripe SDK's event parser."""
    async with ingest_client(app_settings) as client:
        response = await client.post(
            "/webhooks/stripe", content=body, headers=payloads.stripe_headers(body)
        )
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_payload"
