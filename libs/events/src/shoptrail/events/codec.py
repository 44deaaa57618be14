"""Bytes on the wire: encode an event, and parse one back strictly."""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError

from shoptrail.events.base import EventData
from shoptrail.events.envelope import Event, envelope_of
from shoptrail.events.registry import REGISTRY, Registry, UnknownEventTypeError

CONTENT_TYPE = "application/cloudevents+json; charset=utf-8"


class MalformedEventError(ValueError):
    """A message that is not a valid Shoptrail event; `str()` says exactly why."""


def encode(event: Event[Any]) -> bytes:
    """Structured-mode CloudEvents JSON. Absent optional attributes are left out."""
    body = event.model_dump(mode="json", serialize_as_any=True)
    return json.dumps(
        {k: v for k, v in body.items() if v is not None},
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode()


def kafka_key(event: Event[Any]) -> bytes | None:
    """Partition key: the order id, so one order's events stay in order."""
    return event.subject.encode() if event.subject else None


def kafka_headers(event: Event[Any]) -> dict[str, str]:
    """Headers that let tools route or inspect a message without parsing it."""
    return {"content-type": CONTENT_TYPE, "ce_id": str(event.id), "ce_type": event.type}


_TYPE_MARK = b'"type":"'


def decode(raw: bytes | str, *, registry: Registry = REGISTRY) -> Event[EventData]:
    """Parse and validate one message; older schema versions are upcast.

    Raises MalformedEventError with a one-line reason for anything that is not
    a valid event of a known type: bad JSON, a missing attribute, an unknown
    type, a newer schema version than this reader knows, or invalid data.
    """
    fast = _decode_current(raw, registry)
    return fast if fast is not None else _decode_checked(raw, registry)


def _decode_current(raw: bytes | str, registry: Registry) -> Event[EventData] | None:
    """Fast path for what our own producers write: the current version, compact JSON.

    One pass of pydantic-core over the bytes. Anything unusual (another
    version, an unknown type, odd spacing, invalid data) returns None and takes
    the checked path, which gives the same result or the precise error.
    """
    data = raw.encode() if isinstance(raw, str) else raw
    start = data.find(_TYPE_MARK)
    end = data.find(b'"', start + len(_TYPE_MARK)) if start >= 0 else -1
    if end < 0:
        return None
    type_ = data[start + len(_TYPE_MARK) : end].decode(errors="replace")
    if type_ not in registry:
        return None
    try:
        event = envelope_of(registry.get(type_)).model_validate_json(data)
    except ValidationError:
        return None
    return event if event.specversion == "1.0" else None


def _decode_checked(raw: bytes | str, registry: Registry) -> Event[EventData]:
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MalformedEventError(f"not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise MalformedEventError(f"expected a JSON object, got {type(body).__name__}")
    if body.get("specversion") != "1.0":
        raise MalformedEventError(
            f"not a CloudEvents 1.0 envelope (specversion={body.get('specversion')!r})"
        )
    type_ = body.get("type")
    if not isinstance(type_, str):
        raise MalformedEventError("missing the 'type' attribute")
    try:
        data_cls = registry.get(type_)
    except UnknownEventTypeError as exc:
        raise MalformedEventError(str(exc)) from None
    version = body.get("schemaversion", 1)
    if not isinstance(version, int) or version < 1:
        raise MalformedEventError(f"invalid schemaversion {version!r} for {type_!r}")
    if version > data_cls.VERSION:
        raise MalformedEventError(
            f"{type_!r} schema version {version} is newer than this reader knows "
            f"({data_cls.VERSION})"
        )
    data = body.get("data")
    if not isinstance(data, dict):
        raise MalformedEventError(f"{type_!r} event has no 'data' object")
    try:
        data = registry.upcast(type_, version, data)
    except LookupError as exc:
        raise MalformedEventError(str(exc)) from None
    try:
        return envelope_of(data_cls).model_validate(
            {**body, "schemaversion": data_cls.VERSION, "data": data}
        )
    except ValidationError as exc:
        raise MalformedEventError(f"invalid {type_!r} event: {_summarise(exc)}") from None


def _summarise(exc: ValidationError, limit: int = 4) -> str:
    errors = exc.errors(include_url=False, include_input=False)
    parts = [f"{'.'.join(str(p) for p in e['loc']) or '(root)'}: {e['msg']}" for e in errors]
    more = f" (+{len(parts) - limit} more)" if len(parts) > limit else ""
    return "; ".join(parts[:limit]) + more
