"""Printify, Printful and email-provider webhooks: genuine ones published, forged ones refused."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shoptrail.events.codec import decode
from shoptrail.events.ids import uuid7_for
from shoptrail.events.ingest import EmailBounced, ProviderStatusReported

pytestmark = pytest.mark.kafka

# Recent: Printify and Printful events older than the replay bound (3 days) are refused.
SHIPPED_AT = (datetime.now(UTC) - timedelta(hours=1)).replace(second=0, microsecond=0)


@pytest.fixture
async def app_settings(
    new_topic: Any, stripe_api: Any, kafka_bootstrap: str, settings_for: Any
) -> Any:
    return settings_for(
        topic=await new_topic("ingest-prov"),
        stripe_api_base=stripe_api.url,
        kafka_bootstrap=kafka_bootstrap,
    )


def printify_shipment() -> dict[str, Any]:
    return {
        "id": "653b6be8-2ff7-4ab5-a7a6-6889a8b3bbf5",
        "type": "order:shipment:created",
        "created_at": SHIPPED_AT.isoformat(sep=" "),
        "resource": {
            "id": "5a96f649b2439217d070f507",
            "type": "order",
            "data": {
                "shop_id": 815256,
                "external_id": "ord_01J9Z8K4",
                "shipped_at": (SHIPPED_AT - timedelta(minutes=3)).isoformat(sep=" "),
                "carrier": {
                    "code": "DHL",
                    "tracking_number": "1Z999AA10123456784",
                    "tracking_url": "https://track.example.com/1Z999AA10123456784",
                },
            },
        },
    }


def printful_shipment() -> dict[str, Any]:
    return {
        "type": "shipment_sent",
        "occurred_at": SHIPPED_AT.isoformat().replace("+00:00", "Z"),
        "retries": 0,
        "store_id": 12345,
        "data": {
            "shipment": {
                "id": 987,
                "order_id": 13579,
                "order_external_id": "ord_01J9Z8K4",
                "carrier": "USPS",
                "tracking_number": "9400111899223",
                "tracking_url": "https://track.example.com/9400111899223",
            }
        },
    }


class TestPrintify:
    async def test_signed_shipment_becomes_a_provider_status_report(
        self, app_settings: Any, ingest_client: Any, payloads: Any, read_topic: Any
    ) -> None:
        body = payloads.body(printify_shipment())
        async with ingest_client(app_settings) as client:
            response = await client.post(
                "/webhooks/printify", content=body, headers=payloads.printify_headers(body)
            )

        assert response.status_code == 200
        [record] = await read_topic(app_settings.topic, 1)
        event = decode(record.value)
        assert event.id == uuid7_for("printify:653b6be8-2ff7-4ab5-a7a6-6889a8b3bbf5", SHIPPED_AT)
        assert event.time == SHIPPED_AT
        assert event.data == ProviderStatusReported(
            provider="Printify",
            provider_order_id="5a96f649b2439217d070f507",
            order_id="ord_01J9Z8K4",
            status="shipped",
            carrier="DHL",
            tracking_number="1Z999AA10123456784",
            tracking_url="https://track.example.com/1Z999AA10123456784",
            reported_at=SHIPPED_AT,
        )

    async def test_forged_signature_is_refused_and_nothing_published(
        self, app_settings: Any, ingest_client: Any, payloads: Any, topic_size: Any
    ) -> None:
        body = payloads.body(printify_shipment())
        async with ingest_client(app_settings) as client:
            response = await client.post(
                "/webhooks/printify", content=body, headers=payloads.printify_headers(body, "guess")
            )

        assert response.status_code == 401
        assert response.json()["error"] == "bad_signature"
        assert await topic_size(app_settings.topic) == 0


class TestPrintful:
    async def test_signed_v2_shipment_becomes_a_provider_status_report(
        self, app_settings: Any, ingest_client: Any, payloads: Any, read_topic: Any
    ) -> None:
        body = payloads.body(printful_shipment())
        async with ingest_client(app_settings) as client:
            response = await client.post(
                "/webhooks/printful", content=body, headers=payloads.printful_headers(body)
            )

        assert response.status_code == 200
        [record] = await read_topic(app_settings.topic, 1)
        assert decode(record.value).data == ProviderStatusReported(
            provider="Printful",
            provider_order_id="13579",
            order_id="ord_01J9Z8K4",
            status="shipped",
            carrier="USPS",
            tracking_number="9400111899223",
            tracking_url="https://track.example.com/9400111899223",
            reported_at=SHIPPED_AT,
        )

    async def test_a_retry_with_a_higher_retry_count_is_the_same_event(
        self, app_settings: Any, ingest_client: Any, payloads: Any
    ) -> None:
        first = printful_shipment()
        again = {**first, "retries": 3}
        async with ingest_client(app_settings) as client:
            ids = [
                (
                    await client.post(
                        "/webhooks/printful",
                        content=payloads.body(p),
                        headers=payloads.printful_headers(payloads.body(p)),
                    )
                ).json()["event_ids"]
                for p in (first, again)
            ]

        assert ids[0] == ids[1]

    async def test_forged_signature_is_refused_and_nothing_published(
        self, app_settings: Any, ingest_client: Any, payloads: Any, topic_size: Any
    ) -> None:
        body = payloads.body(printful_shipment())
        forged = payloads.printful_headers(body, secret_key="00" * 32)
        async with ingest_client(app_settings) as client:
            response = await client.post("/webhooks/printful", content=body, headers=forged)

        assert response.status_code == 401
        assert await topic_size(app_settings.topic) == 0


def bounce() -> dict[str, Any]:
    return {
        "type": "email.bounced",
        "created_at": "2026-02-16T14:23:00.000Z",
        "data": {
            "email_id": "4ef9a417-02e9-4d39-ad75-9611e0fcc33c",
            "to": ["sam@example.com"],
            "subject": "Your order SS-260223-0042",
            "bounce": {"message": "550 5.1.1 mailbox unavailable", "type": "Permanent"},
            "tags": {"email_kind": "order_confirmation", "order_id": "ord_01J9Z8K4"},
        },
    }


class TestEmailBounces:
    async def test_signed_bounce_becomes_email_bounced(
        self, app_settings: Any, ingest_client: Any, payloads: Any, read_topic: Any
    ) -> None:
        body = payloads.body(bounce())
        async with ingest_client(app_settings) as client:
            response = await client.post(
                "/webhooks/email", content=body, headers=payloads.email_headers(body, "msg_2bounce")
            )

        assert response.status_code == 200
        [record] = await read_topic(app_settings.topic, 1)
        assert record.key == b"ord_01J9Z8K4"
        assert decode(record.value).data == EmailBounced(
            recipient="sam@example.com",
            email_kind="order_confirmation",
            order_id="ord_01J9Z8K4",
            reason="550 5.1.1 mailbox unavailable",
            permanent=True,
        )

    @pytest.mark.parametrize(
        "forge",
        [
            {"secret": "whsec_c29tZW9uZS1lbHNl"},
            {"timestamp": int(time.time()) - 3600},
        ],
        ids=["wrong-secret", "replayed-an-hour-later"],
    )
    async def test_forged_or_replayed_bounce_is_refused(
        self,
        forge: dict[str, Any],
        app_settings: Any,
        ingest_client: Any,
        payloads: Any,
        topic_size: Any,
    ) -> None:
        body = payloads.body(bounce())
        headers = payloads.email_headers(body, "msg_forged", **forge)
        async with ingest_client(app_settings) as client:
            response = await client.post("/webhooks/email", content=body, headers=headers)

        assert response.status_code == 401
        assert await topic_size(app_settings.topic) == 0


class TestReplays:
    """Printify and Printful sign no timestamp: the event's own date bounds a replay."""

    @pytest.mark.parametrize(
        ("sender", "age", "status", "error"),
        [
            ("printify", timedelta(days=2000), 401, "stale"),  # a signed event from 2021
            ("printful", timedelta(days=2000), 401, "stale"),
            ("printify", timedelta(days=4), 401, "stale"),
            ("printful", -timedelta(hours=1), 401, "future"),
            ("printify", timedelta(days=2), 200, None),  # within the providers' retries
        ],
    )
    async def test_a_validly_signed_event_older_than_the_retry_window_is_refused(
        self,
        app_settings: Any,
        ingest_client: Any,
        payloads: Any,
        read_topic: Any,
        sender: str,
        age: timedelta,
        status: int,
        error: str | None,
    ) -> None:
        when = datetime.now(UTC) - age
        if sender == "printify":
            payload = {**printify_shipment(), "created_at": when.isoformat(sep=" ")}
        else:
            payload = {**printful_shipment(), "occurred_at": when.isoformat()}
        body = json.dumps(payload).encode()
        headers = getattr(payloads, f"{sender}_headers")(body)
        async with ingest_client(app_settings) as client:
            response = await client.post(f"/webhooks/{sender}", content=body, headers=headers)
        assert response.status_code == status, response.text
        if error:
            assert response.json()["error"] == error
