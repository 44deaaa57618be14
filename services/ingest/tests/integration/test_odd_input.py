"""Odd characters and shapes in genuinely signed webhooks: cleaned at the door, never a 500.

A U+0000 in a customer's name once went to Kafka as it was, and three
services then failed on PostgreSQL for every message behind it. Whatever
characters a sender puts in any string, the order still flows and nothing
published is something a consumer's store cannot hold.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest

from shoptrail.events.codec import decode
from shoptrail.events.hygiene import MAX_TEXT
from shoptrail.events.ingest import OrderCreated

from .test_provider_and_email_webhooks import printful_shipment, printify_shipment

pytestmark = pytest.mark.kafka

CONTROLS = "\x00\x01\x07\x1b\x1f\x7f"


def poisoned(value: Any, mark: Callable[[str], str]) -> Any:
    """`value` with every string (keys left alone) passed through `mark`."""
    if isinstance(value, str):
        return mark(value)
    if isinstance(value, dict):
        return {k: poisoned(v, mark) for k, v in value.items()}
    if isinstance(value, list):
        return [poisoned(v, mark) for v in value]
    return value


def with_controls(text: str) -> str:
    middle = len(text) // 2
    return f"{CONTROLS}{text[:middle]}{CONTROLS}{text[middle:]}{CONTROLS}"


def email_bounce() -> dict[str, Any]:
    return {
        "type": "email.bounced",
        "created_at": "2026-02-16T14:23:00.000Z",
        "data": {
            "email_id": "56761188-7520-42d8-8898-ff6fc54ce618",
            "to": ["customer@example.com"],
            "subject": "Thank you for your order",
            "bounce": {"type": "Permanent", "message": "550 5.1.1 mailbox unavailable"},
            "tags": {"order_id": "ord_01J9Z8K4", "email_kind": "order_confirmation"},
        },
    }


class Senders:
    """Posts each sender's payload signed with the test secrets."""

    def __init__(self, client: Any, payloads: Any) -> None:
        self.client, self.payloads = client, payloads

    async def stripe(self, payload: dict[str, Any]) -> Any:
        body = json.dumps(payload).encode()
        return await self.client.post(
            "/webhooks/stripe", content=body, headers=self.payloads.stripe_headers(body)
        )

    async def printify(self, payload: dict[str, Any]) -> Any:
        body = json.dumps(payload).encode()
        return await self.client.post(
            "/webhooks/printify", content=body, headers=self.payloads.printify_headers(body)
        )

    async def printful(self, payload: dict[str, Any]) -> Any:
        body = json.dumps(payload).encode()
        return await self.client.post(
            "/webhooks/printful", content=body, headers=self.payloads.printful_headers(body)
        )

    async def email(self, payload: dict[str, Any]) -> Any:
        body = json.dumps(payload).encode()
        headers = self.payloads.email_headers(body, message_id=f"msg_{time.time_ns()}")
        return await self.client.post("/webhooks/email", content=body, headers=headers)


@pytest.fixture
async def app_settings(
    new_topic: Any, stripe_api: Any, kafka_bootstrap: str, settings_for: Any
) -> Any:
    return settings_for(
        topic=await new_topic("ingest-odd"),
        stripe_api_base=stripe_api.url,
        kafka_bootstrap=kafka_bootstrap,
    )


def checkout(payloads: Any, event_id: str) -> dict[str, Any]:
    session = payloads.checkout_session(line_items={"data": [payloads.line_item()]})
    session["line_items"]["has_more"] = False
    event: dict[str, Any] = payloads.stripe_event(
        "checkout.session.completed", session, id=event_id
    )
    return event


async def test_control_characters_in_every_string_are_removed_and_every_webhook_kind_flows(
    app_settings: Any, ingest_client: Any, payloads: Any, read_topic: Any
) -> None:
    def printify_again() -> dict[str, Any]:
        return {**printify_shipment(), "id": "7e1c2d4a-0000-4ab5-a7a6-6889a8b3bbf5"}

    kinds: list[tuple[str, Callable[[], dict[str, Any]], Callable[[], dict[str, Any]]]] = [
        ("stripe", lambda: checkout(payloads, "evt_clean"), lambda: checkout(payloads, "evt_x")),
        ("printify", printify_shipment, printify_again),
        ("printful", printful_shipment, printful_shipment),
        ("email", email_bounce, email_bounce),
    ]
    async with ingest_client(app_settings) as client:
        senders = Senders(client, payloads)
        for sender, clean_payload, dirty_payload in kinds:
            clean = await getattr(senders, sender)(clean_payload())
            dirty = await getattr(senders, sender)(poisoned(dirty_payload(), with_controls))
            assert clean.status_code == 200, clean.text
            assert dirty.status_code == 200, (sender, dirty.text)
            assert dirty.json()["status"] == "published", (sender, dirty.json())
            if sender == "printful":  # its identity comes from the (cleaned) payload: the same
                assert dirty.json()["event_ids"] == clean.json()["event_ids"]

    records = await read_topic(app_settings.topic, 7)
    by_kind: dict[tuple[str, str | None], list[Any]] = {}
    for record in records:
        assert b"\\u0000" not in (record.value or b"")
        data = decode(record.value).data
        by_kind.setdefault((data.TYPE, getattr(data, "provider", None)), []).append(data)
    assert [len(datas) for datas in by_kind.values()] == [2, 2, 1, 2]
    for datas in by_kind.values():
        assert all(d == datas[0] for d in datas), f"{datas[0].TYPE} changed by the characters"


async def test_a_lone_surrogate_becomes_a_replacement_character_not_a_refusal(
    app_settings: Any, ingest_client: Any, payloads: Any, read_topic: Any
) -> None:
    payload = checkout(payloads, "evt_surrogate")
    payload["data"]["object"]["customer_details"]["name"] = "Jo \ud800 Buyer"
    payload["data"]["object"]["collected_information"]["shipping_details"]["name"] = "Jo \udfff"
    async with ingest_client(app_settings) as client:
        body = json.dumps(payload).encode()  # ASCII JSON: the surrogates travel as \\u escapes
        response = await client.post(
            "/webhooks/stripe", content=body, headers=payloads.stripe_headers(body)
        )
    assert response.status_code == 200, response.text
    [record] = await read_topic(app_settings.topic, 1)
    created = decode(record.value).data
    assert isinstance(created, OrderCreated)
    assert created.shipping_address is not None
    assert created.shipping_address.name == "Jo \ufffd"
    (record.value or b"").decode("utf-8")  # valid UTF-8 all the way


async def test_strings_beyond_the_contracts_bound_are_cut_and_the_order_kept(
    app_settings: Any, ingest_client: Any, payloads: Any, read_topic: Any
) -> None:
    payload = checkout(payloads, "evt_long")
    session = payload["data"]["object"]
    session["line_items"]["data"][0]["description"] = "Tee " * 5000
    session["line_items"]["data"][0]["price"]["product"]["name"] = "Tee " * 5000
    session["metadata"]["order_id"] = "o" * 10_000  # not usable as an id: derived instead
    async with ingest_client(app_settings) as client:
        body = json.dumps(payload).encode()
        response = await client.post(
            "/webhooks/stripe", content=body, headers=payloads.stripe_headers(body)
        )
    assert response.status_code == 200, response.text
    [record] = await read_topic(app_settings.topic, 1)
    created = decode(record.value).data
    assert isinstance(created, OrderCreated)
    assert len(created.line_items[0].name) == MAX_TEXT
    assert created.line_items[0].name.endswith("…")
    assert created.order_id.startswith("ord_") and len(created.order_id) < 30


@pytest.mark.parametrize("depth", [100, 100_000])
@pytest.mark.parametrize("sender", ["stripe", "printify", "printful", "email"])
async def test_deeply_nested_json_is_a_400_never_a_500(
    app_settings: Any,
    ingest_client: Any,
    payloads: Any,
    topic_size: Any,
    sender: str,
    depth: int,
) -> None:
    base = {
        "stripe": checkout(payloads, "evt_deep"),
        "printify": printify_shipment(),
        "printful": printful_shipment(),
        "email": email_bounce(),
    }[sender]
    nested = "[" * depth + "]" * depth
    body = json.dumps(base)[:-1].encode() + b', "deep": ' + nested.encode() + b"}"
    headers = {
        "stripe": lambda: payloads.stripe_headers(body),
        "printify": lambda: payloads.printify_headers(body),
        "printful": lambda: payloads.printful_headers(body),
        "email": lambda: payloads.email_headers(body, message_id="msg_deep"),
    }[sender]()
    async with ingest_client(app_settings) as client:
        response = await client.post(f"/webhooks/{sender}", content=body, headers=headers)
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "too_deep"
    assert await topic_size(app_settings.topic) == 0
