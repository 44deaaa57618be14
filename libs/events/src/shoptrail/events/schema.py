"""JSON Schema and AsyncAPI documents, generated from the models (never by hand)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from shoptrail.events.base import EventData
from shoptrail.events.catalog import PRODUCERS
from shoptrail.events.codec import CONTENT_TYPE
from shoptrail.events.envelope import Event
from shoptrail.events.registry import REGISTRY


def schema_name(cls: type[EventData]) -> str:
    """File and component name: `order.created.v1`."""
    return f"{cls.TYPE}.v{cls.VERSION}"


def json_schema(cls: type[EventData]) -> dict[str, Any]:
    """The JSON Schema of a whole event (envelope and data) of one type."""
    schema = Event[cls].model_json_schema()  # type: ignore[valid-type]
    schema["title"] = cls.TYPE
    schema["description"] = (cls.__doc__ or "").strip()
    schema["examples"] = [{"type": cls.TYPE, "data": cls.example().model_dump(mode="json")}]
    schema["x-level"] = cls.LEVEL.value
    schema["x-category"] = cls.CATEGORY.value
    schema["x-example-message"] = cls.example().render()
    return schema


def asyncapi() -> dict[str, Any]:
    """An AsyncAPI 3.0 document: one channel per producer topic, one message per type."""
    messages = {
        schema_name(cls): {
            "name": cls.TYPE,
            "title": cls.TYPE,
            "summary": (cls.__doc__ or "").strip(),
            "contentType": CONTENT_TYPE,
            "payload": {"$ref": f"schemas/{schema_name(cls)}.json"},
        }
        for cls in sorted(REGISTRY, key=lambda c: c.TYPE)
    }
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for topic, types in PRODUCERS.items():
        channel_id = topic.replace(".", "_")
        channels[channel_id] = {
            "address": topic,
            "description": f"Events produced by {topic.split('.')[-1]}, keyed by order id.",
            "messages": {
                schema_name(cls): {"$ref": f"#/components/messages/{schema_name(cls)}"}
                for cls in types
            },
        }
        operations[f"publish_{channel_id}"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{channel_id}"},
        }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Shoptrail events",
            "version": "1",
            "description": "Every Shoptrail event, as CloudEvents 1.0 structured JSON on Kafka.",
        },
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages},
    }


def render_all() -> dict[str, str]:
    """Every generated document, by path relative to the schema folder."""
    files = {
        f"schemas/{schema_name(cls)}.json": _dump(json_schema(cls))
        for cls in sorted(REGISTRY, key=lambda c: c.TYPE)
    }
    files["asyncapi.json"] = _dump(asyncapi())
    return files


def write_all(folder: Path) -> list[Path]:
    """Write the documents under `folder`, removing stale schema files."""
    files = render_all()
    (folder / "schemas").mkdir(parents=True, exist_ok=True)
    for stale in (folder / "schemas").glob("*.json"):
        if f"schemas/{stale.name}" not in files:
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
    present = {f"schemas/{p.name}" for p in (folder / "schemas").glob("*.json")}
    stale += sorted(present - files.keys())
    return stale


def _read(path: Path) -> str | None:
    return path.read_text() if path.exists() else None


def _dump(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
