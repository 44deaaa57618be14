"""Encoding, strict parsing, upcasting and ids."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, Self

import pytest

from shoptrail.events import (
    REGISTRY,
    Category,
    EventData,
    Level,
    MalformedEventError,
    Registry,
    decode,
    encode,
    kafka_headers,
    kafka_key,
    new_event,
    uuid7,
    uuid7_for,
)
from shoptrail.events.codec import order_id_of_record
from shoptrail.events.fulfilment import OrderShipped, SyncFailed
from shoptrail.events.ingest import EmailBounced, OrderCreated, ProviderStatusReported
from shoptrail.events.notifier import AbandonedCartRecovered

OCCURRED = datetime(2026, 2, 16, 14, 23, 5, tzinfo=UTC)


def _type_id(cls: type[EventData]) -> str:
    return cls.TYPE


ALL_TYPES = sorted(REGISTRY.types(), key=_type_id)


@pytest.mark.parametrize("cls", ALL_TYPES, ids=_type_id)
def test_every_type_round_trips_identically(cls: type[EventData]) -> None:
    event = new_event(cls.example(), source="/services/test", time=OCCURRED)
    parsed = decode(encode(event))
    assert parsed == event
    assert type(parsed.data) is cls
    assert parsed.message == cls.example().render()


def test_the_envelope_is_cloudevents_structured_json() -> None:
    event = new_event(OrderShipped.example(), source="/services/fulfilment", time=OCCURRED)
    body = json.loads(encode(event))
    assert body["specversion"] == "1.0"
    assert body["type"] == "order.shipped"
    assert body["source"] == "/services/fulfilment"
    assert body["subject"] == "ord_01J9Z8K4"
    assert body["time"] == "2026-02-16T14:23:05Z"
    assert body["schemaversion"] == 1
    assert body["datacontenttype"] == "application/json"
    assert body["data"]["tracking_number"] == "1Z999AA10123456784"
    assert "traceparent" not in body  # absent attributes are left out, not null
    assert uuid.UUID(body["id"]).version == 7


def test_every_event_is_keyed_by_the_entity_it_is_about() -> None:
    shipped = new_event(OrderShipped.example(), source="/s")
    sync = new_event(SyncFailed.example(), source="/s")
    cart = new_event(AbandonedCartRecovered.example(), source="/s")
    assert kafka_key(shipped) == b"ord_01J9Z8K4"
    assert kafka_key(sync) == b"Printify"  # one provider's syncs stay in order
    assert kafka_key(cart) == b"cart_01J9ZA"  # with the cart's other events, not the order's


@pytest.mark.parametrize("cls", ALL_TYPES, ids=_type_id)
def test_every_type_names_key_fields_it_has(cls: type[EventData]) -> None:
    assert cls.KEY, f"{cls.TYPE} names no key field"
    assert set(cls.KEY) <= set(cls.model_fields), f"{cls.TYPE}: {cls.KEY}"
    assert cls.example().partition_key() is not None


def test_a_key_falls_back_to_the_next_field_and_then_to_none() -> None:
    known = ProviderStatusReported.example()
    unknown = known.model_copy(update={"order_id": None})
    assert known.partition_key() == "ord_01J9Z8K4"
    assert unknown.partition_key() == "PFY-12345"
    bounce = EmailBounced.example().model_copy(update={"order_id": None})
    assert kafka_key(new_event(bounce, source="/s")) is None


def test_headers_are_structured_mode_with_no_ce_prefix() -> None:
    """A `ce_` header beside a structured body makes CloudEvents readers assume binary mode."""
    shipped = new_event(OrderShipped.example(), source="/s")
    headers = kafka_headers(shipped)
    assert headers["content-type"].startswith("application/cloudevents+json")
    assert headers["shoptrail-event-type"] == "order.shipped"
    assert headers["shoptrail-event-id"] == str(shipped.id)
    assert not [name for name in headers if name.lower().startswith("ce_")]


def test_a_follow_up_event_carries_the_causes_correlation_and_trace() -> None:
    trace = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    cause = new_event(OrderCreated.example(), source="/services/ingest", traceparent=trace)
    follow = new_event(OrderShipped.example(), source="/services/fulfilment", caused_by=cause)
    assert follow.correlationid == str(cause.id)
    assert follow.traceparent == trace


class TestMalformedInputIsRejectedClearly:
    def valid(self) -> dict[str, Any]:
        body: dict[str, Any] = json.loads(encode(new_event(OrderShipped.example(), source="/s")))
        return body

    def test_not_json(self) -> None:
        with pytest.raises(MalformedEventError, match="not valid JSON"):
            decode(b"{not json")

    def test_not_utf8(self) -> None:
        with pytest.raises(MalformedEventError, match="not valid JSON"):
            decode(b"\xff\xfe\x00")

    def test_not_an_object(self) -> None:
        with pytest.raises(MalformedEventError, match="expected a JSON object, got list"):
            decode(b"[1, 2]")

    def test_not_cloudevents(self) -> None:
        body = self.valid()
        del body["specversion"]
        with pytest.raises(MalformedEventError, match=r"not a CloudEvents 1\.0 envelope"):
            decode(json.dumps(body))

    def test_unknown_type(self) -> None:
        body = self.valid() | {"type": "order.teleported"}
        with pytest.raises(MalformedEventError, match=r"unknown event type 'order\.teleported'"):
            decode(json.dumps(body))

    def test_missing_data_field_names_the_field(self) -> None:
        body = self.valid()
        del body["data"]["carrier"]
        with pytest.raises(
            MalformedEventError, match=r"invalid .order.shipped. event: data\.carrier"
        ):
            decode(json.dumps(body))

    def test_bad_envelope_attribute_names_the_attribute(self) -> None:
        body = self.valid() | {"time": "yesterday-ish"}
        with pytest.raises(MalformedEventError, match="time"):
            decode(json.dumps(body))

    def test_naive_time_is_refused(self) -> None:
        body = self.valid() | {"time": "2026-02-16T14:23:05"}
        with pytest.raises(MalformedEventError, match="time"):
            decode(json.dumps(body))

    def test_newer_schema_version_than_the_reader_knows(self) -> None:
        body = self.valid() | {"schemaversion": 9}
        with pytest.raises(MalformedEventError, match=r"schema version 9 is newer"):
            decode(json.dumps(body))

    def test_unknown_fields_are_ignored(self) -> None:
        body = self.valid()
        body["data"]["added_in_a_later_minor_release"] = True
        body["someextension"] = "x"
        assert decode(json.dumps(body)).data == OrderShipped.example()


class Parcel(EventData):
    """A test-only type at version 3; version 1 had `weight_g`, version 2 `weight_kg: str`."""

    TYPE: ClassVar[str] = "test.parcel_weighed"
    LEVEL: ClassVar[Level] = Level.INFO
    CATEGORY: ClassVar[Category] = Category.FULFILMENT
    VERSION: ClassVar[int] = 3

    weight_kg: float

    def render(self) -> str:
        return f"Parcel weighs {self.weight_kg} kg"

    @classmethod
    def example(cls) -> Self:
        return cls(weight_kg=1.5)


@pytest.fixture
def parcel_registry() -> Registry:
    registry = Registry()
    registry.register(Parcel)

    @registry.upcaster("test.parcel_weighed", from_version=1)
    def grams_to_kg_string(data: dict[str, Any]) -> dict[str, Any]:
        return {"weight_kg": str(data["weight_g"] / 1000)}

    @registry.upcaster("test.parcel_weighed", from_version=2)
    def kg_string_to_float(data: dict[str, Any]) -> dict[str, Any]:
        return {"weight_kg": float(data["weight_kg"])}

    return registry


def _parcel_message(version: int, data: dict[str, Any]) -> str:
    return json.dumps(
        {
            "specversion": "1.0",
            "id": str(uuid7()),
            "type": "test.parcel_weighed",
            "source": "/old-service",
            "time": "2025-01-01T00:00:00Z",
            "schemaversion": version,
            "data": data,
        }
    )


class TestUpcasting:
    def test_older_versions_are_upcast_step_by_step(self, parcel_registry: Registry) -> None:
        event = decode(_parcel_message(1, {"weight_g": 2500}), registry=parcel_registry)
        assert event.data == Parcel(weight_kg=2.5)
        assert event.schemaversion == 3
        event = decode(_parcel_message(2, {"weight_kg": "0.75"}), registry=parcel_registry)
        assert event.data == Parcel(weight_kg=0.75)

    def test_current_version_is_read_as_is(self, parcel_registry: Registry) -> None:
        event = decode(_parcel_message(3, {"weight_kg": 4.0}), registry=parcel_registry)
        assert event.data.render() == "Parcel weighs 4.0 kg"

    def test_a_missing_upcaster_is_a_clear_error(self) -> None:
        registry = Registry()
        registry.register(Parcel)
        with pytest.raises(MalformedEventError, match=r"no upcaster .* from schema version 1"):
            decode(_parcel_message(1, {"weight_g": 1}), registry=registry)

    def test_registering_two_classes_for_one_type_is_refused(self) -> None:
        registry = Registry()
        registry.register(Parcel)

        class Impostor(Parcel):
            pass

        with pytest.raises(ValueError, match="registered twice"):
            registry.register(Impostor)


class TestIds:
    def test_uuid7_is_version_7_and_time_ordered(self) -> None:
        earlier = uuid7(OCCURRED)
        later = uuid7(OCCURRED + timedelta(milliseconds=2))
        assert earlier.version == 7 and earlier.variant == uuid.RFC_4122
        assert earlier < later

    def test_ids_for_a_source_event_are_deterministic(self) -> None:
        first = uuid7_for("stripe:evt_1", OCCURRED)
        assert first == uuid7_for("stripe:evt_1", OCCURRED)
        assert first != uuid7_for("stripe:evt_2", OCCURRED)
        assert first.version == 7
        assert int(first.hex[:12], 16) == int(OCCURRED.timestamp() * 1000)


class TestFastPathAgreesWithTheCheckedPath:
    """`decode` tries one pydantic-core pass first; it must never change the answer."""

    @pytest.mark.parametrize("cls", ALL_TYPES, ids=_type_id)
    def test_same_event_either_way(self, cls: type[EventData]) -> None:
        from shoptrail.events.codec import _decode_checked, _decode_current

        raw = encode(new_event(cls.example(), source="/s", time=OCCURRED))
        fast = _decode_current(raw, REGISTRY)
        assert fast is not None, "our own encoding takes the fast path"
        assert fast == _decode_checked(raw, REGISTRY)

    def test_a_nested_type_field_cannot_mislead_it(self) -> None:
        body = json.loads(encode(new_event(OrderShipped.example(), source="/s")))
        reordered = {"data": body.pop("data") | {"type": "sync.failed"}, **body}
        event = decode(json.dumps(reordered, separators=(",", ":")))
        assert event.type == "order.shipped"

    def test_pretty_printed_and_older_messages_still_decode(self) -> None:
        event = new_event(OrderShipped.example(), source="/s")
        pretty = json.dumps(json.loads(encode(event)), indent=2)
        assert decode(pretty) == event


def test_an_unreadable_records_order_comes_from_our_header_or_an_old_records_key() -> None:
    shipped = new_event(OrderShipped.example(), source="/s")
    ours = list(kafka_headers(shipped).items())
    ours_as_bytes = [(name, value.encode()) for name, value in ours]
    assert order_id_of_record(b"ord_01J9Z8K4", ours_as_bytes) == "ord_01J9Z8K4"
    sync = new_event(SyncFailed.example(), source="/s")
    sync_headers = [(name, value.encode()) for name, value in kafka_headers(sync).items()]
    assert order_id_of_record(b"Printify", sync_headers) is None  # a provider, not an order
    legacy = [("content-type", b"application/cloudevents+json"), ("ce_type", b"order.shipped")]
    assert order_id_of_record(b"ord_old", legacy) == "ord_old"
    assert order_id_of_record(b"x" * 201, None) is None
