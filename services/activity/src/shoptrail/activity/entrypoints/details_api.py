"""`GET /api/entries/{id}/detail`: everything an entry was made from, for the details page."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, Field

from shoptrail.activity.adapters.details import EntryDetails
from shoptrail.activity.entrypoints.api import NO_ENTRY, EntryId
from shoptrail.activity.entrypoints.schemas import EntryOut

router = APIRouter(prefix="/api", tags=["activity"])


class KafkaCoordinatesOut(BaseModel):
    """Where on the bus the event was read: enough to find the very record again."""

    topic: str
    partition: int
    offset: int


class EntryDetailOut(EntryOut):
    """One entry whole: when it happened and when the log heard of it, where it came from."""

    kafka: KafkaCoordinatesOut | None = Field(
        description="None for entries the log made itself or logged before coordinates were kept."
    )
    received_at: datetime = Field(description="When the log recorded it (`inserted_at`).")
    references: dict[str, str] = Field(
        description="Ids the order is known by elsewhere: checkout_session_id, "
        "payment_intent_id, provider, provider_order_id, order_number."
    )


def _details(request: Request) -> EntryDetails:
    details: EntryDetails = request.app.state.entry_details
    return details


DetailsDep = Annotated[EntryDetails, Depends(_details)]


@router.get("/entries/{entry_id}/detail", response_model=EntryDetailOut, responses=NO_ENTRY)
async def entry_detail(entry_id: EntryId, details: DetailsDep) -> EntryDetailOut:
    """The entry with its source, occurred vs received time, Kafka coordinates and payload."""
    found = await details.entry(entry_id)
    if found is None:
        raise HTTPException(404, f"no entry {entry_id}")
    topic, partition, offset = (
        found[k] for k in ("kafka_topic", "kafka_partition", "kafka_offset")
    )
    kafka = (
        KafkaCoordinatesOut(topic=topic, partition=partition, offset=offset)
        if topic is not None and partition is not None and offset is not None
        else None
    )
    return EntryDetailOut.model_validate(
        found | {"kafka": kafka, "received_at": found["inserted_at"]}
    )
