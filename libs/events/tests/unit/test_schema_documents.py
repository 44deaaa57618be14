"""The checked-in JSON Schema and AsyncAPI documents match the models."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema

from shoptrail.events import REGISTRY, encode, new_event
from shoptrail.events.schema import asyncapi, json_schema, schema_name, stale_files

LIB = Path(__file__).resolve().parents[2]


def test_checked_in_documents_are_current() -> None:
    assert stale_files(LIB) == [], "run: uv run python -m shoptrail.events schemas"


def test_each_schema_accepts_its_own_encoded_example() -> None:
    for cls in REGISTRY:
        schema = json_schema(cls)
        message = json.loads(encode(new_event(cls.example(), source="/s")))
        jsonschema.validate(message, schema)


def test_asyncapi_lists_every_type_on_its_producer_channel() -> None:
    document = asyncapi()
    assert document["asyncapi"].startswith("3.")
    listed = {name for channel in document["channels"].values() for name in channel["messages"]}
    assert listed == {schema_name(cls) for cls in REGISTRY}
    assert document["channels"]["shoptrail_fulfilment"]["address"] == "shoptrail.fulfilment"
