"""A verified fact from outside, ready to become an event with a deterministic id."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from shoptrail.events.base import EventData
from shoptrail.events.envelope import Event, new_event
from shoptrail.events.ids import uuid7_for
from shoptrail.ingest.domain.cleaning import TooDeepError, clean_payload
from shoptrail.ingest.domain.errors import InvalidPayloadError

INGEST_SOURCE = "/services/ingest"

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class Fact:
    """`data` that happened at `occurred_at`, identified at its source by `source_key`.

    `source_key` is the sender's own id for the fact (e.g. `stripe:evt_123`),
    so every delivery of the same webhook becomes the same event id.
    """

    data: EventData
    occurred_at: datetime
    source_key: str

    def to_event(self) -> Event[EventData]:
        """The envelope: id derived from the source key, `time` = when it happened at the source."""
        return new_event(
            self.data,
            source=INGEST_SOURCE,
            time=self.occurred_at,
            id=uuid7_for(self.source_key, self.occurred_at),
        )


@dataclass(frozen=True)
class Ignored:
    """A genuine webhook we do not turn into a fact (acknowledged, counted)."""

    kind: str
    reason: str


def from_unix(seconds: int) -> datetime:
    """A Stripe-style unix timestamp as an aware UTC datetime, or a clear 400 when no date
    has it (before year 1 or after 9999)."""
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (ValueError, OverflowError, OSError):
        raise InvalidPayloadError(
            "invalid_payload", f"{seconds} is no unix time a date can hold"
        ) from None


def parse_json_object(body: bytes, sender: str) -> dict[str, Any]:
    """The body as a JSON object with its strings cleaned (see cleaning.py), or a clear 400."""
    try:
        value = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidPayloadError(
            "invalid_json", f"{sender} body is not valid JSON: {exc}"
        ) from None
    except RecursionError:
        raise InvalidPayloadError("too_deep", f"{sender} body is nested too deeply") from None
    if not isinstance(value, dict):
        raise InvalidPayloadError("invalid_payload", f"{sender} body must be a JSON object")
    try:
        cleaned: dict[str, Any] = clean_payload(value)
    except TooDeepError as exc:
        raise InvalidPayloadError("too_deep", f"{sender} body is {exc}") from None
    return cleaned


def validate_as(model: type[M], value: Any, what: str) -> M:
    """Validate `value` as `model`, or a 400 that names the first problems."""
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '(root)'}: {e['msg']}"
            for e in exc.errors(include_url=False, include_input=False)[:3]
        )
        raise InvalidPayloadError("invalid_payload", f"unreadable {what}: {problems}") from None


@contextmanager
def translating(what: str) -> Iterator[None]:
    """Turn a fact that cannot be built from a payload (e.g. a 4-letter currency) into a 400."""
    try:
        yield
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '(root)'}: {e['msg']}"
            for e in exc.errors(include_url=False, include_input=False)[:3]
        )
        raise InvalidPayloadError("invalid_payload", f"cannot read {what}: {problems}") from None
