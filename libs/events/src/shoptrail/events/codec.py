"""Bytes on the wire: encode an event, and parse one back strictly."""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError

from shoptrail.events.base import EventData
from shoptrail.events.envelope import Event, envelope_of
from shoptrail.events.failures import PermanentError
from shoptrail.events.hygiene import clean_json, clean_text
from shoptrail.events.registry import REGISTRY, Registry, UnknownEventTypeError

CONTENT_TYPE = "application/cloudevents+json; charset=utf-8"


class MalformedEventError(PermanentError, ValueError):
    """A message that is not a valid Shoptrail event; `str()` says exactly why."""


def encode(event: Event[Any]) -> bytes:
    """Structured-mode CloudEvents JSON. Absent optional attributes are left out.

    Never writes what `decode` would have to clean: U+0000 and lone surrogates
    in any string become U+FFFD (see hygiene.py).
    """
    body = event.model_dump(mode="json", serialize_as_any=True)
    body = {k: v for k, v in body.items() if v is not None}
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    if "\\u0000" in text:  # json.dumps writes U+0000 as an escape
        text = json.dumps(clean_json(body), ensure_ascii=False, separators=(",", ":"))
    try:
        return text.encode()
    except UnicodeEncodeError:  # a lone surrogate
        return clean_text(text).encode()


TYPE_HEADER = "shoptrail-event-type"
ID_HEADER = "shoptrail-event-id"
ORDER_HEADER = "shoptrail-order-id"
"""The order the event is about (its `subject`), readable even when the value is not."""


def kafka_key(event: Event[Any]) -> bytes | None:
    """Partition key: the entity the event is about (see `EventData.KEY`).

    It is also the envelope's `partitionkey` attribute, as the CloudEvents Kafka
    binding maps it, so a tool that re-publishes our event with the official
    SDK keeps it on the same partition as the entity's other events.

    One order's, one cart's or one provider's syncs' events share a partition,
    so every consumer sees them in the order they were published.
    """
    key = event.partitionkey or event.data.partition_key()  # older records lack the attribute
    return key.encode() if key is not None else None


def kafka_headers(event: Event[Any]) -> dict[str, str]:
    """Headers of a structured-mode CloudEvent, as the CloudEvents Kafka binding has them.

    `content-type` marks the value as a whole CloudEvent. No `ce_` header may
    sit beside it: readers such as the official SDK's `from_kafka` take any
    `ce_` header to mean binary mode, and then misread the record. The event's
    type and id are repeated under names of our own, for tools that route or
    filter without parsing the value (`kcat -f '%h'`). `traceparent` repeats the
    envelope's, for tracers that read only headers (FastStream's telemetry
    middleware continues the trace from it).
    """
    headers = {"content-type": CONTENT_TYPE, TYPE_HEADER: event.type, ID_HEADER: str(event.id)}
    if event.subject:
        headers[ORDER_HEADER] = event.subject
    if event.traceparent:
        headers["traceparent"] = event.traceparent
    return headers


def order_id_of_record(key: bytes | None, headers: Any) -> str | None:
    """The order a record was about, without parsing its value (it may be unreadable).

    Our records say it in `ORDER_HEADER`; a record of ours without that header is
    about no order (a cart, a sync: its key is that entity's id). A record with
    none of our headers was written before keys named other entities, or by a
    producer following the old convention, so its key is taken as the order id.
    """
    names = {name: value for name, value in headers or ()}
    if ORDER_HEADER in names:
        value = names[ORDER_HEADER]
    elif TYPE_HEADER in names:
        return None
    else:
        value = key
    if not value or len(value) > 200:
        return None
    return clean_text(bytes(value).decode(errors="replace"))


_TYPE_MARK = b'"type":"'
_NEEDS_CLEANING = (b"\\u0000", b"\\ud", b"\\uD")
"""Escapes of U+0000 or of a surrogate: such a message is cleaned on the checked path."""


def decode(raw: bytes | str, *, registry: Registry = REGISTRY) -> Event[EventData]:
    """Parse and validate one message; older schema versions are upcast.

    Raises MalformedEventError with a one-line reason for anything that is not
    a valid event of a known type: bad JSON, a missing attribute, an unknown
    type, a newer schema version than this reader knows, or invalid data
    (including a string or list over the contract's bounds). U+0000 and lone
    surrogates are replaced by U+FFFD, not refused: the event still counts.
    """
    data = clean_text(raw).encode() if isinstance(raw, str) else raw
    if any(mark in data for mark in _NEEDS_CLEANING):
        return _decode_checked(data, registry)
    fast = _decode_current(data, registry)
    return fast if fast is not None else _decode_checked(data, registry)


def _decode_current(data: bytes, registry: Registry) -> Event[EventData] | None:
    """Fast path for what our own producers write: the current version, compact JSON.

    One pass of pydantic-core over the bytes. Anything unusual (another
    version, an unknown type, odd spacing, invalid data) returns None and takes
    the checked path, which gives the same result or the precise error.
    """
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


def _decode_checked(data: bytes, registry: Registry) -> Event[EventData]:
    try:
        body = clean_json(json.loads(data))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MalformedEventError(f"not valid JSON: {exc}") from None
    except RecursionError:
        raise MalformedEventError("not valid JSON: nested too deeply") from None
    if not isinstance(body, dict):
        raise MalformedEventError(f"expected a JSON object, got {type(body).__name__}")
    if body.get("specversion") != "1.0":
        raise MalformedEventError(
            f"not a CloudEvents 1.0 envelope (specversion={body.get('specversion')!r})"
        )
    type_ = body.get("type")
    if not isinstance(type_, str):
        raise MalformedEventError("missing the 'type' attribute")
    if len(type_) > 200:
        raise MalformedEventError(f"unknown event type {type_[:50]!r}… ({len(type_)} characters)")
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
    written = body.get("data")
    if not isinstance(written, dict):
        raise MalformedEventError(f"{type_!r} event has no 'data' object")
    try:
        current = registry.upcast(type_, version, written)
    except LookupError as exc:
        raise MalformedEventError(str(exc)) from None
    try:
        return envelope_of(data_cls).model_validate(
            {**body, "schemaversion": data_cls.VERSION, "data": current}
        )
    except ValidationError as exc:
        raise MalformedEventError(f"invalid {type_!r} event: {_summarise(exc)}") from None


def _summarise(exc: ValidationError, limit: int = 4) -> str:
    errors = exc.errors(include_url=False, include_input=False)
    parts = [f"{'.'.join(str(p) for p in e['loc']) or '(root)'}: {e['msg']}" for e in errors]
    more = f" (+{len(parts) - limit} more)" if len(parts) > limit else ""
    return "; ".join(parts[:limit]) + more
