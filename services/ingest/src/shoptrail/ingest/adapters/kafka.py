"""Publishing to Kafka with a bounded wait, one in-flight send per event id."""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from functools import partial
from typing import Any
from uuid import UUID

from shoptrail.events.base import EventData
from shoptrail.events.envelope import Event
from shoptrail.events.failures import describe
from shoptrail.events.publisher import EventPublisher
from shoptrail.ingest.domain.errors import UpstreamUnavailableError
from shoptrail.ingest.service_layer.ports import EventSink, PublishResult

log = logging.getLogger(__name__)


class KafkaEventSink(EventSink):
    """Publishes through `EventPublisher` (acks=all, idempotent) and waits at most `timeout`.

    Why one send per event id: when Kafka does not ack in time the webhook is
    answered 503, but the idempotent producer keeps the record and delivers it
    once Kafka is back; it cannot be taken back. A retried (or concurrent)
    delivery of the same event therefore joins the send already in flight
    instead of writing a second copy, and an event acknowledged recently is
    answered at once. Across restarts or replicas a second copy can still be
    written; it carries the same event id, so consumers keep one.
    """

    def __init__(self, publisher: EventPublisher, *, timeout: float, remember: int = 10_000):
        self._publisher = publisher
        self._timeout = timeout
        self._remember = remember
        self._in_flight: dict[UUID, asyncio.Future[Any]] = {}
        self._acknowledged: OrderedDict[UUID, None] = OrderedDict()

    @property
    def in_flight(self) -> int:
        """Sends still waiting for Kafka's acknowledgement."""
        return len(self._in_flight)

    async def publish(self, event: Event[EventData]) -> PublishResult:
        if event.id in self._acknowledged:
            return "already_published"
        send = self._in_flight.get(event.id)
        if send is None:
            send = asyncio.ensure_future(self._publisher.publish(event))
            self._in_flight[event.id] = send
            send.add_done_callback(partial(self._settle, event.id))
        try:
            async with asyncio.timeout(self._timeout):
                await asyncio.shield(send)
        except TimeoutError:
            raise UpstreamUnavailableError(
                f"Kafka did not acknowledge event {event.id} within {self._timeout:g} s"
            ) from None
        except Exception as exc:
            raise UpstreamUnavailableError(
                f"Kafka refused event {event.id}: {describe(exc)}"
            ) from exc
        return "published"

    def _settle(self, event_id: UUID, send: asyncio.Future[Any]) -> None:
        self._in_flight.pop(event_id, None)
        if send.cancelled():
            return
        if (error := send.exception()) is not None:
            log.warning(
                "publish failed", extra={"event_id": str(event_id), "error": describe(error)}
            )
            return
        self._acknowledged[event_id] = None
        while len(self._acknowledged) > self._remember:
            self._acknowledged.popitem(last=False)

    async def drain(self, timeout: float) -> int:
        """Wait up to `timeout` for sends in flight; return how many are still unacknowledged."""
        pending = list(self._in_flight.values())
        if pending:
            await asyncio.wait(pending, timeout=timeout)
        return self.in_flight
