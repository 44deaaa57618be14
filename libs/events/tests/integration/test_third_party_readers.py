"""Our records as tools nobody here wrote read them, through a real broker.

The official CloudEvents SDK's auto-detecting Kafka reader (`from_kafka`)
decides the content mode from the headers alone: any `ce_` header means binary
mode. A generic JSON Schema validator (`jsonschema`) checks each record's value
against the checked-in schema of its `type`, and against every other type's.
These tests publish with our own publisher and read with those tools.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cloudevents.core.bindings.kafka import KafkaMessage, from_kafka
from cloudevents.core.formats.json import JSONFormat
from jsonschema import Draft202012Validator, FormatChecker

from shoptrail.events import REGISTRY, EventData, decode, kafka_key, new_event
from shoptrail.events.notifier import (
    AbandonedCartCreated,
    AbandonedCartEmailSent,
    AbandonedCartRecovered,
)
from shoptrail.events.producer import Producer
from shoptrail.events.publisher import EventPublisher
from shoptrail.testing import NewTopicFactory, TopicReader

pytestmark = pytest.mark.kafka

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"


async def test_the_cloudevents_sdk_reads_every_event_type_as_structured_mode(
    kafka_bootstrap: str, new_topic: NewTopicFactory, read_topic: TopicReader
) -> None:
    topic = await new_topic()
    occurred = datetime(2026, 2, 16, 14, 23, tzinfo=UTC)
    sent = [new_event(cls.example(), source="/tests", time=occurred) for cls in REGISTRY]
    async with Producer(kafka_bootstrap, client_id="test-publisher") as producer:
        await EventPublisher(producer, topic).publish_all(sent)

    records = await read_topic(topic, len(sent))
    parsed = 0
    for record in records:
        message = KafkaMessage(
            headers={name: value for name, value in record.headers},
            key=record.key,
            value=record.value,
        )
        theirs = from_kafka(message, JSONFormat())
        ours = decode(record.value)
        assert theirs.get_type() == ours.type
        assert theirs.get_id() == str(ours.id)
        assert theirs.get_source() == ours.source
        assert theirs.get_subject() == ours.subject
        assert theirs.get_time() == ours.time
        assert theirs.get_data() == json.loads(record.value)["data"]
        # The binding maps the record key to the Partitioning extension, which the
        # body also carries: a tool re-publishing with the SDK keeps the key.
        key = kafka_key(ours)
        assert key is not None and record.key == key
        assert theirs.get_extension("partitionkey") == key.decode()
        assert json.loads(record.value)["partitionkey"] == key.decode()
        parsed += 1
    assert parsed == len(REGISTRY) == len(records)
    print(f"CloudEvents SDK from_kafka parsed {parsed} of {len(records)} records")


async def test_one_carts_events_stay_in_one_partition_in_order(
    kafka_bootstrap: str, new_topic: NewTopicFactory, read_topic: TopicReader
) -> None:
    """A cart's created → email_sent → recovered reach every consumer in that order."""
    topic = await new_topic(partitions=3)
    carts = [f"cart_{n:02d}" for n in range(12)]

    def step(n: int, cart: str) -> EventData:
        if n == 0:
            return AbandonedCartCreated.example().model_copy(update={"cart_id": cart})
        if n == 1:
            return AbandonedCartEmailSent.example().model_copy(update={"cart_id": cart})
        recovered = {"cart_id": cart, "order_id": f"ord_for_{cart}"}
        return AbandonedCartRecovered.example().model_copy(update=recovered)

    sent = [new_event(step(n, cart), source="/tests") for n in range(3) for cart in carts]
    async with Producer(kafka_bootstrap, client_id="test-publisher") as producer:
        await EventPublisher(producer, topic).publish_all(sent)

    records = await read_topic(topic, len(sent))
    seen: dict[str, list[tuple[int, int, str]]] = defaultdict(list)
    for record in records:
        event = decode(record.value)
        cart_id = event.data.cart_id  # type: ignore[attr-defined]
        assert record.key == cart_id.encode()
        seen[cart_id].append((record.partition, record.offset, event.type))
    assert len({partition for entries in seen.values() for partition, _, _ in entries}) > 1
    for cart_id, entries in seen.items():
        assert len({partition for partition, _, _ in entries}) == 1, cart_id
        in_offset_order = [type_ for _, _, type_ in sorted(entries)]
        assert in_offset_order == [
            "abandoned_cart.created",
            "abandoned_cart.email_sent",
            "abandoned_cart.recovered",
        ], cart_id


async def test_a_generic_validator_accepts_every_record_by_its_own_types_schema_only(
    kafka_bootstrap: str, new_topic: NewTopicFactory, read_topic: TopicReader
) -> None:
    """Real records, through our publisher and Kafka, judged by the checked-in files alone."""
    schemas = {
        schema["title"]: Draft202012Validator(schema, format_checker=FormatChecker())
        for schema in (json.loads(p.read_text()) for p in SCHEMAS.glob("*.json"))
    }
    topic = await new_topic()
    cause = new_event(REGISTRY.get("order.created").example(), source="/services/ingest")
    sent = [
        new_event(cls.example(), source=f"/services/{n}", caused_by=cause if n else None)
        for cls in REGISTRY
        for n in range(3)
    ]
    async with Producer(kafka_bootstrap, client_id="test-publisher") as producer:
        await EventPublisher(producer, topic).publish_all(sent)

    records = await read_topic(topic, len(sent))
    validated: Counter[str] = Counter()
    cross = 0
    for record in records:
        value = json.loads(record.value)
        schemas[value["type"]].validate(value)
        validated[value["type"]] += 1
        cross += sum(
            check.is_valid(value) for type_, check in schemas.items() if type_ != value["type"]
        )
    print(
        f"{sum(validated.values())} records of {len(validated)} types validated against their"
        f" type's schema; {cross} validated against another type's"
    )
    assert sum(validated.values()) == len(sent) == 3 * len(REGISTRY)
    assert set(validated) == {cls.TYPE for cls in REGISTRY}
    assert cross == 0
