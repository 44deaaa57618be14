"""Subscribers: ingest's facts become use-case calls (at least once, idempotent)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import cast

from faststream.kafka import KafkaBroker

from shoptrail.events import Event, EventData
from shoptrail.events.catalog import CONSUMERS
from shoptrail.events.consuming import FailureHandling, subscribe_events
from shoptrail.events.ingest import OrderCreated, OrderRefunded, ProviderStatusReported
from shoptrail.fulfilment.config import Settings
from shoptrail.fulfilment.domain.model import StatusReport, Tracking, parse_reported_status
from shoptrail.fulfilment.service_layer import submission, tracking
from shoptrail.fulfilment.service_layer.ports import UnitOfWork

log = logging.getLogger(__name__)

CONSUMED = CONSUMERS["fulfilment"].types()
"""What `handle` acts on (the contract's consumer map says so for every reader)."""


def status_report(data: ProviderStatusReported) -> StatusReport | None:
    """Ingest's fact in our terms; None for statuses we do not track (pending, on hold)."""
    status = parse_reported_status(data.status)
    if status is None:
        return None
    return StatusReport(
        provider=data.provider,
        provider_order_id=data.provider_order_id,
        order_id=data.order_id,
        status=status,
        tracking=Tracking(data.carrier, data.tracking_number, data.tracking_url),
        reported_at=data.reported_at,
    )


def register_consumers(
    broker: KafkaBroker,
    settings: Settings,
    *,
    uow: Callable[[], UnitOfWork],
    failures: FailureHandling,
) -> None:
    """Subscribe fulfilment to the ingest topic (failures handled as `failures` says)."""

    async def handle(event: Event[EventData]) -> None:
        log.debug("consuming", extra={"event_id": str(event.id), "type": event.type})
        match event.data:
            case OrderCreated():
                await submission.record_order(
                    event=cast(Event[OrderCreated], event),
                    uow=uow(),
                    max_attempts=settings.max_submission_attempts,
                )
            case OrderRefunded():
                await submission.record_refund(event=cast(Event[OrderRefunded], event), uow=uow())
            case ProviderStatusReported() as data:
                if (report := status_report(data)) is not None:
                    await tracking.apply_status_report(report=report, uow=uow())

    subscribe_events(
        broker,
        settings.ingest_topic,
        group_id=settings.consumer_group,
        handler=handle,
        failures=failures,
        types=CONSUMED,
    )
