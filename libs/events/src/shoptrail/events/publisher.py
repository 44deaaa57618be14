"""Publishing events to Kafka durably: acks=all, idempotent producer, wait for the ack."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from aiokafka.structs import RecordMetadata
from faststream.kafka import KafkaBroker
from faststream.kafka.opentelemetry import KafkaTelemetryMiddleware

from shoptrail.events.codec import encode, kafka_headers, kafka_key
from shoptrail.events.envelope import Event
from shoptrail.events.kafka_access import KafkaAccess, as_access, faststream_security
from shoptrail.events.producer import Producer
from shoptrail.events.tracing import producer_spans


def create_broker(kafka: KafkaAccess | str, *, client_id: str, **options: Any) -> KafkaBroker:
    """A FastStream KafkaBroker for subscribers; its producer is durable by default.

    `acks="all"` waits for every in-sync replica; the idempotent producer stops
    a retried send from writing a message twice or out of order. Services
    publish through `Producer` (which heals itself), not through the broker.

    FastStream's telemetry middleware gives every subscriber's handling of a
    message a consumer span, child of the trace in its `traceparent` header
    (tracing.py); events the handler makes continue that trace.

    `kafka` carries the service's SASL user when the bus is guarded
    (kafka_access.py): FastStream takes it as its `security` object.
    """
    middlewares = (*options.pop("middlewares", ()), KafkaTelemetryMiddleware())
    access = as_access(kafka)
    return KafkaBroker(
        access.servers,
        security=faststream_security(access),
        client_id=client_id,
        acks="all",
        enable_idempotence=True,
        middlewares=middlewares,
        **options,
    )


class EventPublisher:
    """Publishes events to one topic; returns only after Kafka acknowledged them."""

    def __init__(self, producer: Producer, topic: str) -> None:
        self._producer = producer
        self.topic = topic

    async def publish(self, event: Event[Any]) -> RecordMetadata:
        """Publish one event and wait for the broker's acknowledgement."""
        return (await self.publish_all([event]))[0]

    async def publish_all(self, events: Sequence[Event[Any]]) -> list[RecordMetadata]:
        """Publish many events pipelined, then wait until every one is acknowledged."""
        records = [(encode(event), kafka_key(event), kafka_headers(event)) for event in events]
        with producer_spans((self.topic, headers) for _, _, headers in records):
            pending = [
                await self._producer.send(self.topic, value, key=key, headers=headers)
                for value, key, headers in records
            ]
            return list(await asyncio.gather(*pending))
