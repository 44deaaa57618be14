"""The JSON Schemas as a generic validator reads them (the off-the-shelf `jsonschema`).

Nothing here uses our own decoder to judge a document: each check is what a
third party's validator would conclude from the checked-in files alone.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.validators import validator_for
from referencing import Registry, Resource

from shoptrail.events import REGISTRY, EventData, decode, encode, new_event
from shoptrail.events.schema import (
    DIALECT,
    example_event,
    schema_id,
    schema_name,
    stale_files,
    write_all,
)

LIB = Path(__file__).resolve().parents[2]
TYPES = sorted(REGISTRY, key=lambda c: c.TYPE)


def checked_in() -> dict[str, dict[str, Any]]:
    """The schema files as a third party finds them, by file stem."""
    return {p.stem: json.loads(p.read_text()) for p in sorted((LIB / "schemas").glob("*.json"))}


def validator(schema: dict[str, Any]) -> Draft202012Validator:
    return Draft202012Validator(schema, format_checker=FormatChecker())


def variants(cls: type[EventData]) -> list[dict[str, Any]]:
    """Encoded events of `cls` as our producers write them: bare, and caused by another."""
    cause = new_event(cls.example(), source="/services/ingest")
    return [
        json.loads(encode(new_event(cls.example(), source="/services/test"))),
        json.loads(
            encode(
                new_event(
                    cls.example(),
                    source="/services/test",
                    time=datetime(2025, 12, 31, 23, 59, 59, 999000, tzinfo=UTC),
                    caused_by=cause,
                    traceparent="00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
                )
            )
        ),
    ]


def test_checked_in_documents_are_current() -> None:
    assert stale_files(LIB) == [], "run: uv run python -m shoptrail.events schemas"


def test_every_type_has_one_schema_file_with_dialect_and_a_unique_id() -> None:
    schemas = checked_in()
    assert set(schemas) == {schema_name(cls) for cls in TYPES}
    for cls in TYPES:
        schema = schemas[schema_name(cls)]
        assert schema["$schema"] == DIALECT
        assert schema["$id"] == schema_id(cls)
    assert len({s["$id"] for s in schemas.values()}) == len(schemas)


def test_every_schema_is_valid_against_its_metaschema() -> None:
    for name, schema in checked_in().items():
        assert validator_for(schema) is Draft202012Validator, name
        Draft202012Validator.check_schema(schema)


def test_every_schemas_examples_are_whole_events_that_validate() -> None:
    validated = 0
    for name, schema in checked_in().items():
        assert schema["examples"], name
        for example in schema["examples"]:
            validator(schema).validate(example)
            assert {"specversion", "id", "type", "source", "time", "data"} <= example.keys()
            assert decode(json.dumps(example)).type == schema["title"]  # and we read it too
            validated += 1
    assert validated == len(REGISTRY)
    print(f"{validated} schema examples validated")


def test_no_event_validates_against_another_types_schema() -> None:
    """Each encoded event matches its own schema and no other: the issue saw 3,249 matches."""
    schemas = checked_in()
    checks = {name: validator(schema) for name, schema in schemas.items()}
    own = cross = 0
    for cls in TYPES:
        for message in variants(cls):
            for name, check in checks.items():
                if name == schema_name(cls):
                    check.validate(message)
                    own += 1
                elif check.is_valid(message):
                    cross += 1
    print(f"{own} events validated against their own schema; {cross} cross-type matches")
    assert own == 2 * len(REGISTRY)
    assert cross == 0


def test_the_ids_resolve_in_a_validators_registry() -> None:
    """A third party may load every file and refer to a type by its `$id` alone."""
    schemas = checked_in()
    registry: Registry[Any] = Registry().with_resources(
        (s["$id"], Resource.from_contents(s)) for s in schemas.values()
    )
    for cls in TYPES:
        by_id = Draft202012Validator({"$ref": schema_id(cls)}, registry=registry)
        assert by_id.is_valid(json.loads(encode(example_event(cls))))
        other = next(c for c in TYPES if c is not cls)
        assert not by_id.is_valid(json.loads(encode(example_event(other))))


class TestOpennessPolicy:
    """Closed envelope except CloudEvents extensions; open data: the schema and our reader agree."""

    def message(self) -> tuple[dict[str, Any], Draft202012Validator]:
        cls = REGISTRY.get("order.shipped")
        return json.loads(encode(example_event(cls))), validator(checked_in()[schema_name(cls)])

    def test_a_cloudevents_extension_attribute_is_accepted(self) -> None:
        message, check = self.message()
        message["partitionkey"] = "ord_01J9Z8K4"
        assert check.is_valid(message)
        assert decode(json.dumps(message)).type == "order.shipped"

    @pytest.mark.parametrize(
        "member", [{"Order_Id": "x"}, {"data_base64": "e30="}, {"partitionkey": {"x": 1}}]
    )
    def test_a_member_that_is_no_cloudevents_attribute_is_refused(
        self, member: dict[str, Any]
    ) -> None:
        message, check = self.message()
        assert not check.is_valid({**message, **member})

    def test_an_unknown_data_field_is_accepted_as_readers_ignore_it(self) -> None:
        message, check = self.message()
        message["data"]["parcel_weight_g"] = 420
        assert check.is_valid(message)
        assert decode(json.dumps(message)).data == REGISTRY.get("order.shipped").example()

    def test_the_policy_is_written_in_the_schema(self) -> None:
        schema = checked_in()["order.shipped.v1"]
        assert "Envelope openness" in schema["description"]
        assert "Data openness" in schema["description"]
        assert schema["properties"]["type"]["const"] == "order.shipped"
        assert schema["properties"]["specversion"]["const"] == "1.0"

    def test_another_schema_version_is_refused(self) -> None:
        message, check = self.message()
        assert not check.is_valid({**message, "schemaversion": 2})


class TestOlderVersions:
    """Records are kept forever: an older version's schema file outlives a version bump."""

    def test_an_older_versions_file_is_kept_and_not_reported_stale(self, tmp_path: Path) -> None:
        write_all(tmp_path)
        older = tmp_path / "schemas" / "order.shipped.v0.json"  # below the current version 1
        older.write_text('{"frozen": true}\n')
        gone = tmp_path / "schemas" / "order.teleported.v1.json"  # a type that no longer exists
        gone.write_text("{}\n")

        assert stale_files(tmp_path) == ["schemas/order.teleported.v1.json"]
        write_all(tmp_path)

        assert older.read_text() == '{"frozen": true}\n'
        assert not gone.exists()
        assert stale_files(tmp_path) == []

    def test_each_older_versions_example_upcasts_to_a_readable_event(self) -> None:
        """None exist yet (every type is at v1); the first version bump makes this bite."""
        for name, schema in checked_in().items():
            type_, version = name.rsplit(".v", 1)
            if int(version) < REGISTRY.get(type_).VERSION:
                for example in schema["examples"]:
                    assert decode(json.dumps(example)).schemaversion == REGISTRY.get(type_).VERSION
