"""Ingest's Stripe API calls against Stripe's own mock server (stripe-mock): Stripe's real shapes.

stripe-mock answers every call with Stripe's published fixture objects (not
our orders) and refuses parameters Stripe's spec does not allow. So these tests
show that what the adapter asks is a request Stripe accepts, that what Stripe
answers parses into ingest's objects and then into valid events, and that a
webhook without embedded `line_items` or metadata — as Stripe really sends
them — goes through the whole ingest path to real Kafka. The fake Stripe API
that `make dev` and the other tests use is held to stripe-mock's shapes here too.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from shoptrail.events.base import EventData
from shoptrail.events.codec import decode
from shoptrail.events.common import LineItem
from shoptrail.events.envelope import Event
from shoptrail.events.ingest import OrderCreated, OrderRefunded
from shoptrail.events.money import Money
from shoptrail.ingest.adapters.stripe_api import StripeSdkApi
from shoptrail.ingest.devtools.fake_stripe import CheckoutItem, CheckoutSpec, FakeStripe
from shoptrail.ingest.domain import stripe_events as se
from shoptrail.ingest.domain.stripe_objects import CheckoutSession, StripeProduct
from shoptrail.ingest.service_layer.ports import EventSink, PublishResult
from shoptrail.ingest.service_layer.reconcile import reconcile

KEY = "sk_test_shapes"
EXPANDED = {"expand[]": "data.price.product", "limit": "100"}


async def stripe_get(base: str, path: str, params: dict[str, str] | None = None) -> Any:
    """Stripe's raw answer, read without the SDK (what the adapter's parsing is checked against)."""
    async with httpx.AsyncClient(base_url=base, timeout=10) as http:
        response = await http.get(path, params=params, headers={"Authorization": f"Bearer {KEY}"})
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture
async def adapter(stripe_mock: str) -> AsyncIterator[StripeSdkApi]:
    api = StripeSdkApi(KEY, api_base=stripe_mock, timeout=10)
    yield api
    await api.close()


def expected_line_item(given: dict[str, Any]) -> LineItem:
    """What ingest should make of one of Stripe's line items (its product expanded)."""
    price, product = given["price"], given["price"]["product"]
    return LineItem(
        product_id=product["metadata"].get("product_id") or product["id"],
        name=given["description"],
        quantity=given["quantity"],
        unit_price=Money(amount=price["unit_amount"], currency=price["currency"].upper()),
        variant=product["metadata"].get("variant") or price["nickname"],
        product_url=product["url"],
    )


class TestTheAdapterReadsStripesAnswers:
    async def test_line_items_parse_with_price_and_product_expanded(
        self, adapter: StripeSdkApi, stripe_mock: str
    ) -> None:
        raw = await stripe_get(stripe_mock, "/v1/checkout/sessions/cs_test_x/line_items", EXPANDED)

        items = await adapter.checkout_line_items("cs_test_x")

        assert len(items) == len(raw["data"]) >= 1
        for item, given in zip(items, raw["data"], strict=True):
            assert item.id == given["id"]
            assert item.quantity == given["quantity"]
            assert item.price is not None
            assert item.price.unit_amount == given["price"]["unit_amount"]
            assert isinstance(item.price.product, StripeProduct)
            assert item.price.product.id == given["price"]["product"]["id"]

    async def test_line_items_become_the_events_line_items(
        self, adapter: StripeSdkApi, stripe_mock: str
    ) -> None:
        raw = await stripe_get(stripe_mock, "/v1/checkout/sessions/cs_test_x/line_items", EXPANDED)

        lines = se.line_items(await adapter.checkout_line_items("cs_test_x"), "usd")

        assert lines == tuple(expected_line_item(given) for given in raw["data"])

    async def test_the_checkout_of_a_payment_intent_parses(
        self, adapter: StripeSdkApi, stripe_mock: str
    ) -> None:
        raw = await stripe_get(
            stripe_mock, "/v1/checkout/sessions", {"payment_intent": "pi_x", "limit": "1"}
        )

        session = await adapter.checkout_session_for_payment_intent("pi_x")

        assert session is not None
        assert session.id == raw["data"][0]["id"]
        assert session.email == raw["data"][0]["customer_details"]["email"]
        assert session.payment_intent == raw["data"][0]["payment_intent"]

    async def test_listed_events_parse_as_stripe_events(self, adapter: StripeSdkApi) -> None:
        since = datetime.now(UTC) - timedelta(days=2)

        listed = [e async for e in adapter.undelivered_events(since=since, types=se.HANDLED_TYPES)]

        assert listed
        assert [se.parse_event(e).id for e in listed] == [e["id"] for e in listed]

    async def test_reconcile_reads_stripes_event_list_without_unreadable_entries(
        self, adapter: StripeSdkApi
    ) -> None:
        sink = RecordingSink()

        report = await reconcile(
            since=datetime.now(UTC) - timedelta(days=2), stripe=adapter, sink=sink
        )

        # stripe-mock lists its one fixture event (a `plan.created`) whatever the filter:
        # read, and ignored as a type ingest does not handle.
        assert report.checked >= 1
        assert report.unreadable == []
        assert len(report.ignored) == report.checked
        assert sink.published == []


class RecordingSink(EventSink):
    def __init__(self) -> None:
        self.published: list[Event[EventData]] = []

    async def publish(self, event: Event[EventData]) -> PublishResult:
        self.published.append(event)
        return "published"


def shape(value: Any) -> Any:
    """The structure of a JSON value: keys and kinds, with list items merged and nulls open.

    `metadata` is the account's own key → string map, so only its kind counts.
    """
    if isinstance(value, dict):
        return {
            key: "metadata" if key == "metadata" and isinstance(item, dict) else shape(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return type(value).__name__


def differences(ours: Any, theirs: Any, where: str = "") -> list[str]:
    """Where two shapes disagree; null on either side fits anything (Stripe's nullable fields)."""
    if ours == "NoneType" or theirs == "NoneType":
        return []
    if isinstance(ours, dict) and isinstance(theirs, dict):
        found = [f"{where}.{key}: only in one" for key in ours.keys() ^ theirs.keys()]
        for key in ours.keys() & theirs.keys():
            found += differences(ours[key], theirs[key], f"{where}.{key}")
        return found
    if isinstance(ours, list) and isinstance(theirs, list):
        return differences(ours[0], theirs[0], f"{where}[]") if ours and theirs else []
    return [] if ours == theirs else [f"{where}: {ours} vs {theirs}"]


class TestTheFakeStripeApiAnswersInStripesShapes:
    @pytest.fixture
    def filled(self, stripe_api: FakeStripe) -> FakeStripe:
        stripe_api.add_checkout(
            "cs_test_fake",
            CheckoutSpec(
                payment_intent="pi_fake",
                customer_email="sam@example.com",
                metadata={"order_id": "ord_fake"},
                items=[CheckoutItem(product_id="tee", name="Tee", unit_amount=2500, variant="M")],
            ),
        )
        return stripe_api

    @pytest.mark.parametrize(
        ("path", "params"),
        [
            ("/v1/checkout/sessions/{id}/line_items", EXPANDED),
            ("/v1/checkout/sessions/{id}/line_items", {"limit": "100"}),
            ("/v1/checkout/sessions", {"payment_intent": "{pi}", "limit": "1"}),
        ],
    )
    async def test_same_shape_as_stripe_mock(
        self, filled: FakeStripe, stripe_mock: str, path: str, params: dict[str, str]
    ) -> None:
        def ask(session: str, pi: str) -> tuple[str, dict[str, str]]:
            return path.format(id=session), {k: v.format(pi=pi) for k, v in params.items()}

        ours = await stripe_get(filled.url, *ask("cs_test_fake", "pi_fake"))
        theirs = await stripe_get(stripe_mock, *ask("cs_test_x", "pi_x"))

        assert ours["data"] and theirs["data"]
        assert differences(shape(ours), shape(theirs)) == []


# --- the whole ingest path: webhooks as Stripe sends them --------------------------


async def post_stripe(client: Any, payloads: Any, event: dict[str, Any]) -> Any:
    body = payloads.body(event)
    return await client.post(
        "/webhooks/stripe", content=body, headers=payloads.stripe_headers(body)
    )


@pytest.fixture
async def app_settings(
    new_topic: Any, stripe_mock: str, kafka_bootstrap: str, settings_for: Any
) -> Any:
    return settings_for(
        topic=await new_topic("ingest-shapes"),
        stripe_api_base=stripe_mock,
        stripe_api_key=KEY,
        kafka_bootstrap=kafka_bootstrap,
    )


@pytest.mark.kafka
class TestWebhooksWithoutEmbeddedFieldsGoThroughStripesApi:
    async def test_a_completed_checkout_becomes_order_created_with_stripes_line_items(
        self,
        app_settings: Any,
        ingest_client: Any,
        payloads: Any,
        stripe_mock: str,
        read_topic: Any,
    ) -> None:
        session = await stripe_get(stripe_mock, "/v1/checkout/sessions/cs_test_hook")
        # Stripe's fixture is an open session; a completed one has its amount and currency.
        session.update(status="complete", payment_status="paid", amount_total=1000, currency="usd")
        assert "line_items" not in session
        raw_items = await stripe_get(
            stripe_mock, f"/v1/checkout/sessions/{session['id']}/line_items", EXPANDED
        )
        event = payloads.stripe_event("checkout.session.completed", session)

        async with ingest_client(app_settings) as client:
            response = await post_stripe(client, payloads, event)

        assert response.status_code == 200, response.text
        [record] = await read_topic(app_settings.topic, 1)
        created = decode(record.value).data
        assert isinstance(created, OrderCreated)
        assert created.line_items == tuple(expected_line_item(i) for i in raw_items["data"])
        assert created.order_id == se.order_id_for(CheckoutSession.model_validate(session))
        assert created.checkout_session_id == session["id"]
        assert created.total == Money(amount=1000, currency="USD")

    async def test_a_refund_without_metadata_finds_its_order_through_the_checkout(
        self,
        app_settings: Any,
        ingest_client: Any,
        payloads: Any,
        stripe_mock: str,
        read_topic: Any,
    ) -> None:
        charge = await stripe_get(stripe_mock, "/v1/charges/ch_test_hook")
        # Stripe's fixture charge is unpaid and unrefunded: refund it in full, as a
        # `charge.refunded` event carries it.
        charge.update(amount_refunded=charge["amount"], refunded=True, payment_intent="pi_hook")
        assert not charge.get("metadata")
        listed = await stripe_get(
            stripe_mock, "/v1/checkout/sessions", {"payment_intent": "pi_hook", "limit": "1"}
        )
        paid_by = CheckoutSession.model_validate(listed["data"][0])
        event = payloads.stripe_event("charge.refunded", charge)
        event["data"]["previous_attributes"] = {"amount_refunded": 0}

        async with ingest_client(app_settings) as client:
            response = await post_stripe(client, payloads, event)

        assert response.status_code == 200, response.text
        [record] = await read_topic(app_settings.topic, 1)
        refunded = decode(record.value)
        assert isinstance(refunded.data, OrderRefunded)
        assert refunded.subject == se.order_id_for(paid_by)
        assert refunded.data.amount == Money(amount=charge["amount"], currency="USD")
        assert refunded.data.full is True
        assert refunded.data.charge_id == charge["id"]
