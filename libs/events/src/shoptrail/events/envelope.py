"""The CloudEvents 1.0 envelope every Shoptrail message travels in."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Generic, Literal, TypeVar, cast
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from shoptrail.events.base import Category, EventData, Level
from shoptrail.events.hygiene import MAX_TEXT, Identifier
from shoptrail.events.ids import uuid7
from shoptrail.events.tracing import current_traceparent

D = TypeVar("D", bound=EventData, covariant=True)  # an Event[OrderShipped] is an Event[EventData]
NewData = TypeVar("NewData", bound=EventData)

TRACEPARENT_PATTERN = r"^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$"


class Event(BaseModel, Generic[D]):
    """One event: CloudEvents attributes (structured JSON mode) around typed `data`.

    `id` is the idempotency key everywhere downstream; `time` is when the fact
    occurred at its source, not when anyone saw it.
    """

    model_config = ConfigDict(frozen=True, extra="ignore", str_max_length=MAX_TEXT)

    specversion: Literal["1.0"] = "1.0"
    id: UUID
    type: str
    source: Identifier = Field(description="The producing service, e.g. /services/fulfilment.")
    time: AwareDatetime
    subject: Identifier | None = Field(
        default=None, description="The order id, when about an order."
    )
    datacontenttype: Literal["application/json"] = "application/json"
    schemaversion: int = Field(ge=1, description="Version of `data`'s schema for this type.")
    traceparent: str | None = Field(default=None, pattern=TRACEPARENT_PATTERN)
    partitionkey: Identifier | None = Field(
        default=None,
        description=(
            "The Kafka record's key (CloudEvents Partitioning extension): the entity "
            "the event is about, named by the type's key fields."
        ),
    )
    correlationid: Identifier | None = None
    data: D

    @model_validator(mode="after")
    def _matches_data(self) -> Event[D]:
        if self.type != self.data.TYPE:
            raise ValueError(f"type {self.type!r} does not match data of type {self.data.TYPE!r}")
        if self.schemaversion != self.data.VERSION:
            raise ValueError(
                f"schemaversion {self.schemaversion} does not match {self.type!r} "
                f"version {self.data.VERSION}"
            )
        return self

    @property
    def level(self) -> Level:
        return self.data.LEVEL

    @property
    def category(self) -> Category:
        return self.data.CATEGORY

    @property
    def message(self) -> str:
        """The rendered, human message ("Shipped via DHL — tracking: 1Z999…")."""
        return self.data.render()


_ENVELOPES: dict[type[EventData], type[Event[Any]]] = {}


def envelope_of(data_cls: type[EventData]) -> type[Event[Any]]:
    """`Event[data_cls]`, parametrized once: pydantic's own lookup costs µs a call."""
    model = _ENVELOPES.get(data_cls)
    if model is None:
        model = _ENVELOPES[data_cls] = Event[data_cls]  # type: ignore[valid-type]
    return model


def new_event(
    data: NewData,
    *,
    source: str,
    time: datetime | None = None,
    id: UUID | None = None,
    caused_by: Event[Any] | None = None,
    correlationid: str | None = None,
    traceparent: str | None = None,
) -> Event[NewData]:
    """Wrap `data` in an envelope.

    `time` defaults to now; pass the source's own timestamp when there is one.
    `caused_by` carries the cause's correlation id forward, so one order's
    story can be followed across services. The trace is the current span's
    (the handler of the cause runs in a span whose parent is the cause's, see
    tracing.py), else the cause's own.
    """
    occurred = time or datetime.now(UTC)
    traceparent = traceparent or current_traceparent()
    if caused_by is not None:
        correlationid = correlationid or caused_by.correlationid or str(caused_by.id)
        traceparent = traceparent or caused_by.traceparent
    model = cast(type[Event[NewData]], envelope_of(type(data)))
    return model(
        id=id or uuid7(),
        type=data.TYPE,
        source=source,
        time=occurred,
        subject=data.subject(),
        partitionkey=data.partition_key(),
        schemaversion=data.VERSION,
        traceparent=traceparent,
        correlationid=correlationid,
        data=data,
    )
