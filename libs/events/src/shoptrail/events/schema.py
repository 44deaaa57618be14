"""JSON Schema documents, one per event type and version, generated from the models.

A generic JSON Schema validator (any draft 2020-12 one) can use them as they
are: each names its dialect (`$schema`) and has a stable `$id`
(`urn:shoptrail:schema:<type>.v<version>`: a name, not an address; the files
live in libs/events/schemas and inside every service's `/asyncapi.json`). A
document accepts exactly one type and version (`type` and `schemaversion` are
constants), so no event validates against another type's schema.

Openness is chosen per level and written into the schema's descriptions:

* the **envelope** is closed to anything that is not a CloudEvents attribute
  name, but admits extension attributes (lower-case letters and digits, scalar
  values) that intermediaries may add; our readers ignore them;
* **data** is open: a later revision of the same version may add optional
  fields, which readers written earlier ignore (`extra="ignore"`). A change
  that old readers cannot ignore is a new version, with its own schema.

Records are kept forever (replays read from offset 0), so the schema of every
older version stays: `write_all` never removes `<type>.v<N>.json` for an N
below the type's current version (those files are frozen history, written by
the generator of their day), only files of types that no longer exist.
"""

from __future__ import annotations

import copy
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from shoptrail.events.base import EventData
from shoptrail.events.catalog import PRODUCERS
from shoptrail.events.codec import encode
from shoptrail.events.envelope import Event, new_event
from shoptrail.events.ids import uuid7_for
from shoptrail.events.registry import REGISTRY

DIALECT = "https://json-schema.org/draft/2020-12/schema"
ID_PREFIX = "urn:shoptrail:schema:"

EXTENSION_NAME = r"^[a-z0-9]{1,20}$"
"""A CloudEvents attribute name (spec 1.0: lower-case letters and digits, at most 20)."""

ENVELOPE_POLICY = (
    "Envelope openness: CloudEvents attributes only. Extension attributes (names of "
    "lower-case letters and digits, string, integer or boolean values) are allowed, "
    "as intermediaries may add them; Shoptrail's readers ignore them. Any other member "
    "is refused."
)
DATA_POLICY = (
    "Data openness: unknown fields are allowed and ignored by readers (forward "
    "compatibility: a later revision of this version may add optional fields). A change "
    "old readers cannot ignore is a new version with its own schema."
)

EXAMPLE_TIME = datetime(2026, 2, 23, 10, 15, tzinfo=UTC)
EXAMPLE_TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
_FILE = re.compile(r"^(?P<type>.+)\.v(?P<version>\d+)\.json$")


def schema_name(cls: type[EventData]) -> str:
    """File and component name: `order.created.v1`."""
    return f"{cls.TYPE}.v{cls.VERSION}"


def schema_id(cls: type[EventData]) -> str:
    """The schema's stable `$id`: `urn:shoptrail:schema:order.created.v1`."""
    return ID_PREFIX + schema_name(cls)


def producer_service(cls: type[EventData]) -> str:
    """The first service that publishes `cls` (its topic's last word): `fulfilment`."""
    topic = next(topic for topic, types in PRODUCERS.items() if cls in types)
    return topic.rsplit(".", 1)[-1]


def example_event(cls: type[EventData]) -> Event[EventData]:
    """The type's example as a whole event, the same on every run (fixed id and time)."""
    return new_event(
        cls.example(),
        source=f"/services/{producer_service(cls)}",
        time=EXAMPLE_TIME,
        id=uuid7_for(f"example:{schema_name(cls)}", EXAMPLE_TIME),
        traceparent=EXAMPLE_TRACEPARENT,
    )


def json_schema(cls: type[EventData]) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a whole event, envelope and data, of one type."""
    generated = Event[cls].model_json_schema()  # type: ignore[valid-type]
    properties = generated["properties"]
    properties["specversion"] = {"const": "1.0", "description": "CloudEvents 1.0."}
    properties["type"] = {"const": cls.TYPE, "description": "The event type."}
    properties["schemaversion"] = {
        "const": cls.VERSION,
        "description": "Version of `data`'s schema; older ones are in their own documents.",
    }
    for model in generated["$defs"].values():
        if model.get("type") == "object":
            model["additionalProperties"] = True
    data = generated["$defs"][properties["data"]["$ref"].rsplit("/", 1)[-1]]
    data["description"] = f"{data.get('description', '')}\n\n{DATA_POLICY}".strip()
    return {
        "$schema": DIALECT,
        "$id": schema_id(cls),
        "title": cls.TYPE,
        "description": f"{(cls.__doc__ or '').strip()}\n\n{ENVELOPE_POLICY}\n{DATA_POLICY}",
        "type": "object",
        "properties": properties,
        "required": sorted({*generated["required"], "specversion"}),
        "propertyNames": {"pattern": EXTENSION_NAME},
        "additionalProperties": {
            "type": ["string", "integer", "boolean"],
            "description": "A CloudEvents extension attribute; ignored by Shoptrail's readers.",
        },
        "$defs": generated["$defs"],
        "examples": [json.loads(encode(example_event(cls)))],
        "x-level": cls.LEVEL.value,
        "x-category": cls.CATEGORY.value,
        "x-kafka-key": list(cls.KEY),
        "x-example-message": cls.example().render(),
    }


def embeddable(schema: dict[str, Any], pointer: str) -> dict[str, Any]:
    """`schema` for placing at JSON pointer `pointer` inside another document.

    Its own `$id` and `$schema` go (tools that read the host document, such as
    the AsyncAPI parser, would otherwise resolve its references against the
    urn), and `#/$defs/…` references are rewritten to point at `pointer`.
    """
    embedded = copy.deepcopy(schema)
    embedded.pop("$schema", None)
    embedded["x-schema-id"] = embedded.pop("$id")

    def rewrite(node: Any) -> None:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/"):
                node["$ref"] = f"{pointer}/{ref[2:]}"
            for value in node.values():
                rewrite(value)
        elif isinstance(node, list):
            for value in node:
                rewrite(value)

    rewrite(embedded)
    return embedded


def render_all() -> dict[str, str]:
    """Every generated document, by path relative to libs/events."""
    from shoptrail.events.asyncapi import asyncapi

    files = {
        f"schemas/{schema_name(cls)}.json": dump(json_schema(cls))
        for cls in sorted(REGISTRY, key=lambda c: c.TYPE)
    }
    files["asyncapi.json"] = dump(asyncapi())
    return files


def is_frozen_history(name: str) -> bool:
    """True for `<type>.v<N>.json` of a registered type whose current version is above N."""
    match = _FILE.match(name)
    if match is None or match["type"] not in REGISTRY:
        return False
    return int(match["version"]) < REGISTRY.get(match["type"]).VERSION


def write_all(folder: Path) -> list[Path]:
    """Write the documents under `folder`; remove schema files of types that no longer exist."""
    files = render_all()
    (folder / "schemas").mkdir(parents=True, exist_ok=True)
    for stale in (folder / "schemas").glob("*.json"):
        if f"schemas/{stale.name}" not in files and not is_frozen_history(stale.name):
            stale.unlink()
    written = []
    for rel, text in files.items():
        path = folder / rel
        path.write_text(text)
        written.append(path)
    return written


def stale_files(folder: Path) -> list[str]:
    """Documents under `folder` that differ from what the models generate now."""
    files = render_all()
    stale = [rel for rel, text in files.items() if _read(folder / rel) != text]
    present = {
        f"schemas/{p.name}"
        for p in (folder / "schemas").glob("*.json")
        if not is_frozen_history(p.name)
    }
    stale += sorted(present - files.keys())
    return stale


def _read(path: Path) -> str | None:
    return path.read_text() if path.exists() else None


def dump(document: dict[str, Any]) -> str:
    """The checked-in form: sorted keys, two-space indent, UTF-8 as is."""
    return json.dumps(document, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
