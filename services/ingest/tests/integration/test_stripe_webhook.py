"""Signed Stripe webhooks become exactly the right events on real Kafka, once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest

from shoptrail.events.codec import decode
from shoptrail.events.common import Address, LineItem
from shoptrail.events.ids import uuid7_for
from shoptrail.events.ingest import CheckoutExpired, OrderCreated, OrderRefunded
from shoptrail.events.money import Money

pytestmark = pytest.mark.kafka

TEE = LineItem(
    product_id="prod_tee_black",
    name="Mountain Tee",
    variant="M Black",
    quantity=1,
    unit_price=Money(amount=3800, currency="GBP"),
    product_url="https://shop.example.com/products/mountain-tee",
)


@pytest.fixture
async def app_settings(
    new_topic: Any, stripe_api: Any, kafka_bootstrap: str, settings_for: Any
) -> Any:
    return settings_for(
        topic=await new_topic("ingest"),
        stripe_api_base=stripe_api.url,
        kafka_bootstrap=kafka_bootstrap,
    )


async def post_stripe(client: Any, payloads: Any, event: dict[str, Any], **sign: Any) -> Any:
    body = payloads.body(event)
    return await client.post(
        "/webhooks/stripe", content=body, headers=payloads.stripe_headers(body, **sign)
    )


class TestCheckoutCompleted:
    async def test_becomes_order_created_with_the_full_snapshot(
        self, app_settings: Any, ingest_client: Any, payloads: Any, stripe_api: Any, read_topic: Any
    ) -> None:
        stripe_api.line_items["cs_test_a1"] = [payloads.line_item()]
        event = payloads.stripe_event(
            "checkout.session.completed",
            payloads.checkout_session(),
            id="evt_completed_1",
            created=1767225700,
        )
        async with ingest_client(app_settings) as client:
            response = await post_stripe(client, payloads, event)

        assert response.status_code == 200
        occurred = datetime.fromtimestamp(1767225700, UTC)
        expected_id = uuid7_for("stripe:evt_completed_1", occurred)
        assert response.json() == {
            "status": "published",
            "kind": "checkout.session.completed",
            "event_ids": [str(expected_id)],
            "reason": None,
        }
        [record] = await read_topic(app_settings.topic, 1)
        published = decode(record.value)
        assert published.id == expected_id
        assert published.time == occurred
        assert published.source == "/services/ingest"
        assert record.key == b"ord_01J9Z8K4"
        assert published.data == OrderCreated(
            order_id="ord_01J9Z8K4",
            order_number="SS-260223-0042",
            customer_email="sam@example.com",
            total=Money(amount=4300, currency="GBP"),
            line_items=(TEE,),
            shipping_address=Address(
                name="Sam Customer",
                line1="1 High Street",
                city="Bristol",
                postal_code="BS1 1AA",
                country="GB",
            ),
            checkout_session_id="cs_test_a1",
        )
        [(path, query, auth)] = stripe_api.requests
        assert path == "/v1/checkout/sessions/cs_test_a1/line_items"
        assert query["expand[0]"] == ["data.price.product"]
        assert auth == "Bearer sk_test_standin"

    async def test_line_items_in_the_event_are_used_without_calling_stripe(
        self, app_settings: Any, ingest_client: Any, payloads: Any, stripe_api: Any, read_topic: Any
    ) -> None:
        session = payloads.checkout_session(
            line_items={
                "object": "list",
                "has_more": False,
                "data": [payloads.line_item(quantity=2)],
            }
        )
        async with ingest_client(app_settings) as client:
            response = await post_stripe(
                client, payloads, payloads.stripe_event("checkout.session.completed", session)
            )

        assert response.status_code == 200
        [record] = await read_topic(app_settings.topic, 1)
        assert decode(record.value).data.line_items[0].quantity == 2  # type: ignore[attr-defined]
        assert stripe_api.requests == []

    async def test_same_event_delivered_five_times_concurrently_is_one_event(
        self, app_settings: Any, ingest_client: Any, payloads: Any, stripe_api: Any, topic_size: Any
    ) -> None:
        stripe_api.line_items["cs_test_a1"] = [payloads.line_item()]
        event = payloads.stripe_event("checkout.session.completed", payloads.checkout_session())
        async with ingest_client(app_settings) as client:
            responses = await asyncio.gather(
                *(post_stripe(client, payloads, event) for _ in range(5))
            )

        assert [r.status_code for r in responses] == [200] * 5
        assert len({r.json()["event_ids"][0] for r in responses}) == 1
        assert await topic_size(app_settings.topic) == 1

    async def test_two_ingest_replicas_derive_the_same_event_id(
        self, app_settings: Any, ingest_client: Any, payloads: Any, stripe_api: Any, read_topic: Any
    ) -> None:
        stripe_api.line_items["cs_test_a1"] = [payloads.line_item()]
        event = payloads.stripe_event("checkout.session.completed", payloads.checkout_session())
        async with ingest_client(app_settings) as one, ingest_client(app_settings) as two:
            await asyncio.gather(
                post_stripe(one, payloads, event), post_stripe(two, payloads, event)
            )

        records = await read_topic(app_settings.topic, 2)
        assert len({decode(r.value).id for r in records}) == 1

    async def test_stripe_api_down_answers_503_and_publishes_nothing(
        self, app_settings: Any, ingest_client: Any, payloads: Any, stripe_api: Any, topic_size: Any
    ) -> None:
        stripe_api.fail_with = 500
        event = payloads.stripe_event("checkout.session.completed", payloads.checkout_session())
        async with ingest_client(app_settings) as client:
            response = await post_stripe(client, payloads, event)

        assert response.status_code == 503
        assert response.json()["error"] == "unavailable"
        assert "Retry-After" in response.headers
        assert await topic_size(app_settings.topic) == 0


class TestCheckoutExpired:
    async def test_becomes_checkout_expired_with_email_and_cart(
        self, app_settings: Any, ingest_client: Any, payloads: Any, stripe_api: Any, read_topic: Any
    ) -> None:
        stripe_api.line_items["cs_test_gone"] = [payloads.line_item()]
        session = payloads.checkout_session(
            "cs_test_gone", customer_details={"email": "maybe@example.com"}, status="expired"
        )
        async with ingest_client(app_settings) as client:
            response = await post_stripe(
                client, payloads, payloads.stripe_event("checkout.session.expired", session)
            )

        assert response.status_code == 200
        [record] = await read_topic(app_settings.topic, 1)
        assert decode(record.value).data == CheckoutExpired(
            checkout_session_id="cs_test_gone",
            customer_email="maybe@example.com",
            line_items=(TEE,),
            total=Money(amount=4300, currency="GBP"),
        )


class TestChargeRefunded:
    async def test_full_refund_with_order_metadata(
        self, app_settings: Any, ingest_client: Any, payloads: Any, read_topic: Any
    ) -> None:
        charge = payloads.charge(metadata={"order_id": "ord_01J9Z8K4"})
        async with ingest_client(app_settings) as client:
            await post_stripe(client, payloads, payloads.stripe_event("charge.refunded", charge))

        [record] = await read_topic(app_settings.topic, 1)
        assert decode(record.value).data == OrderRefunded(
            order_id="ord_01J9Z8K4",
            amount=Money(amount=4300, currency="GBP"),
            full=True,
            charge_id="ch_3PqR",
        )

    async def test_partial_refund_reports_this_refunds_amount(
        self, app_settings: Any, ingest_client: Any, payloads: Any, read_topic: Any
    ) -> None:
        charge = payloads.charge(
            amount_refunded=2500, refunded=False, metadata={"order_id": "ord_1"}
        )
        event = payloads.stripe_event("charge.refunded", charge)
        event["data"]["previous_attributes"] = {"amount_refunded": 1000}
        async with ingest_client(app_settings) as client:
            await post_stripe(client, payloads, event)

        [record] = await read_topic(app_settings.topic, 1)
        refund = decode(record.value).data
        assert refund.amount == Money(amount=1500, currency="GBP")  # type: ignore[attr-defined]
        assert refund.full is False  # type: ignore[attr-defined]

    async def test_refund_without_metadata_maps_to_the_orders_id_through_its_checkout(
        self, app_settings: Any, ingest_client: Any, payloads: Any, stripe_api: Any, read_topic: Any
    ) -> None:
        session = payloads.checkout_session(
            "cs_test_nometa", metadata={}, payment_intent="pi_nometa"
        )
        stripe_api.line_items["cs_test_nometa"] = [payloads.line_item()]
        stripe_api.sessions.append(session)
        async with ingest_client(app_settings) as client:
            await post_stripe(
                client, payloads, payloads.stripe_event("checkout.session.completed", session)
            )
            refund = payloads.charge(payment_intent="pi_nometa", metadata={})
            await post_stripe(client, payloads, payloads.stripe_event("charge.refunded", refund))

        created, refunded = sorted(
            (decode(r.value) for r in await read_topic(app_settings.topic, 2)), key=lambda e: e.type
        )
        assert created.type == "order.created" and refunded.type == "order.refunded"
        assert created.subject == refunded.subject
        assert created.subject is not None and created.subject.startswith("ord_")


class TestOtherEvents:
    async def test_unhandled_type_is_acknowledged_ignored_and_counted(
        self, app_settings: Any, ingest_client: Any, payloads: Any, topic_size: Any
    ) -> None:
        event = payloads.stripe_event("customer.created", {"id": "cus_1", "object": "customer"})
        async with ingest_client(app_settings) as client:
            response = await post_stripe(client, payloads, event)
            metrics = (await client.get("/metrics")).text

        assert response.status_code == 200
        assert response.json()["status"] == "ignored"
        assert (
            'ingest_webhooks_ignored_total{sender="stripe",type="customer.created"} 1.0' in metrics
        )
        assert await topic_size(app_settings.topic) == 0
