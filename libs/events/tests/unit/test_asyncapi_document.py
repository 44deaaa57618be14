"""The AsyncAPI document says what the code does, and the official parser accepts it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from shoptrail.events import REGISTRY, topics
from shoptrail.events.asyncapi import DEAD_LETTER, asyncapi
from shoptrail.events.catalog import CONSUMERS, PRODUCERS
from shoptrail.events.schema import schema_name

LIB = Path(__file__).resolve().parents[2]
ROOT = LIB.parents[1]
CHECKER = ROOT / "tools" / "asyncapi-check"
DOCUMENT = asyncapi()


def channel_of(topic: str) -> dict[str, Any]:
    return next(c for c in DOCUMENT["channels"].values() if c["address"] == topic)


def message_names(operation: dict[str, Any]) -> set[str]:
    return {ref["$ref"].rsplit("/", 1)[-1] for ref in operation["messages"]}


def operations(action: str, topic: str) -> list[dict[str, Any]]:
    channel = next(k for k, c in DOCUMENT["channels"].items() if c["address"] == topic)
    return [
        op
        for op in DOCUMENT["operations"].values()
        if op["action"] == action and op["channel"]["$ref"] == f"#/channels/{channel}"
    ]


def test_every_topic_and_its_dead_letter_topic_is_a_channel_with_kafka_bindings() -> None:
    addresses = {c["address"] for c in DOCUMENT["channels"].values()}
    expected = {
        t for topic in topics.EVENT_TOPICS for t in (topic, topics.dead_letter_topic(topic))
    }
    assert addresses == expected
    for channel in DOCUMENT["channels"].values():
        kafka = channel["bindings"]["kafka"]
        assert kafka["topic"] == channel["address"]
        assert kafka["partitions"] == topics.PARTITIONS
        assert kafka["topicConfiguration"]["retention.ms"] == -1
        assert kafka["topicConfiguration"]["cleanup.policy"] == ["delete"]


def test_each_channel_lists_exactly_what_its_producers_publish() -> None:
    for topic, types in PRODUCERS.items():
        assert set(channel_of(topic)["messages"]) == {schema_name(cls) for cls in types}
        assert set(channel_of(topics.dead_letter_topic(topic))["messages"]) == {DEAD_LETTER}
    # activity records its dead letters in its own log: only staff notes travel on its topic
    assert set(channel_of(topics.ACTIVITY)["messages"]) == {"order.note_added.v1"}
    assert "event.dead_lettered.v1" in channel_of(topics.FULFILMENT)["messages"]


def test_every_message_has_its_key_and_headers() -> None:
    for cls in REGISTRY:
        message = DOCUMENT["components"]["messages"][schema_name(cls)]
        key = message["bindings"]["kafka"]["key"]
        assert key["x-fields"] == list(cls.KEY)
        for field in cls.KEY:
            assert f"data.{field}" in key["description"]
        assert message["headers"]["properties"]["shoptrail-event-type"]["const"] == cls.TYPE
        assert not any(h.startswith("ce_") for h in message["headers"]["properties"])


def test_receive_operations_are_the_consumer_map() -> None:
    for consumer in CONSUMERS.values():
        for topic, types in consumer.reads.items():
            if not types:
                continue
            (receive,) = [
                op
                for op in operations("receive", topic)
                if op["bindings"]["kafka"]["groupId"]["enum"] == [consumer.group]
            ]
            assert message_names(receive) == {schema_name(cls) for cls in types}
            senders = operations("send", topics.dead_letter_topic(topic))
            if consumer.dead_letters:
                assert any(consumer.service in op["summary"] for op in senders)
    groups = {
        op["bindings"]["kafka"]["groupId"]["enum"][0]
        for op in DOCUMENT["operations"].values()
        if op["action"] == "receive" and "bindings" in op
    }
    assert groups == {"fulfilment", "notifier", "notifier-alerts", "shoptrail-activity"}


def test_every_producer_has_a_send_operation_on_its_own_topic_only() -> None:
    for topic, types in PRODUCERS.items():
        sends = operations("send", topic)
        assert len(sends) == (1 if types else 0)
        if types:
            assert message_names(sends[0]) == {schema_name(cls) for cls in types}


def test_message_examples_validate_against_the_documents_own_schemas() -> None:
    """What the AsyncAPI parser does not check: every example payload and its headers."""
    registry: Registry[Any] = Registry().with_resource(
        "urn:asyncapi", Resource.from_contents(DOCUMENT, default_specification=DRAFT202012)
    )
    validated = 0
    for name, message in DOCUMENT["components"]["messages"].items():
        payload = Draft202012Validator(
            {"$ref": f"urn:asyncapi#/components/messages/{name}/payload"},
            registry=registry,
            format_checker=FormatChecker(),
        )
        headers = Draft202012Validator(message["headers"], format_checker=FormatChecker())
        for example in message.get("examples", []):
            payload.validate(example["payload"])
            headers.validate(example["headers"])
            validated += 1
            for other in REGISTRY:
                if schema_name(other) != name:
                    assert not Draft202012Validator(
                        {"$ref": f"urn:asyncapi#/components/schemas/{schema_name(other)}"},
                        registry=registry,
                    ).is_valid(example["payload"])
    assert validated == len(REGISTRY)


def run_parser(document: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["node", str(CHECKER / "check.mjs"), str(document)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def parser_installed() -> None:
    """The parser runs in CI (`make asyncapi-tools` there); locally it may not be installed."""
    missing = shutil.which("node") is None or not (CHECKER / "node_modules").is_dir()
    if missing and os.environ.get("CI") == "true":
        pytest.fail("CI needs node and tools/asyncapi-check/node_modules: run make asyncapi-tools")
    if missing:
        pytest.skip("the AsyncAPI parser is not installed: run `make asyncapi-tools` (needs node)")


@pytest.mark.usefixtures("parser_installed")
class TestTheOfficialParser:
    def test_it_accepts_the_checked_in_document_without_an_error(self) -> None:
        result = run_parser(LIB / "asyncapi.json")
        print(result.stdout)
        assert result.returncode == 0, result.stdout + result.stderr
        assert result.stdout.splitlines()[-1].startswith("OK:")

    def test_it_refuses_a_broken_document(self, tmp_path: Path) -> None:
        broken = json.loads((LIB / "asyncapi.json").read_text())
        broken["channels"]["shoptrail_ingest"]["bindings"]["kafka"]["partitions"] = "three"
        broken["operations"]["ingest_sends_shoptrail_ingest"]["channel"]["$ref"] = "#/channels/x"
        (tmp_path / "asyncapi.json").write_text(json.dumps(broken))
        result = run_parser(tmp_path / "asyncapi.json")
        assert result.returncode == 1, result.stdout
        assert "partitions" in result.stdout and "#/channels/x" in result.stdout
