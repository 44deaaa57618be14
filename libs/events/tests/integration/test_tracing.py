"""One trace across Kafka and the outbox, recorded with the SDK's in-memory exporter.

A webhook-like root span makes an event; it is published to real Kafka; a
FastStream subscriber (`subscribe_events`, the telemetry middleware from
`create_broker`) handles it and stages the event it causes in a real
PostgreSQL outbox; the relay publishes that one. Every span is in the root's
trace, each under the one that caused it, and each event's `traceparent`
names the span it was made in.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from opentelemetry.util._once import Once
from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from shoptrail.events import Event, EventData, decode, new_event
from shoptrail.events.consuming import FailureHandling, RetryPolicy, subscribe_events
from shoptrail.events.failures import Backoff
from shoptrail.events.fulfilment import OrderDelivered, OrderShipped
from shoptrail.events.outbox import OutboxRelay, add_to_outbox, outbox_table
from shoptrail.events.producer import Producer
from shoptrail.events.publisher import EventPublisher, create_broker
from shoptrail.events.tracing import current_traceparent, span_from, trace_id_of
from shoptrail.testing import NewTopicFactory, TopicReader

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]

metadata = MetaData()
outbox = outbox_table(metadata, "traced_outbox")


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    """A recording tracer provider for this test only (the global one is put back after)."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    saved = (trace._TRACER_PROVIDER, trace._TRACER_PROVIDER_SET_ONCE)
    trace._TRACER_PROVIDER_SET_ONCE = Once()
    trace.set_tracer_provider(provider)
    try:
        yield exporter
    finally:
        provider.shutdown()
        trace._TRACER_PROVIDER, trace._TRACER_PROVIDER_SET_ONCE = saved


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    made = create_async_engine(database_url)
    async with made.begin() as conn:
        await conn.run_sync(metadata.create_all)
    yield made
    await made.dispose()


def hex_id(value: int, width: int) -> str:
    return format(value, f"0{width}x")


def parent_of(span: ReadableSpan) -> str | None:
    return hex_id(span.parent.span_id, 16) if span.parent else None


async def test_one_trace_from_the_first_span_through_kafka_a_consumer_and_the_outbox(
    spans: InMemorySpanExporter,
    kafka_bootstrap: str,
    new_topic: NewTopicFactory,
    read_topic: TopicReader,
    engine: AsyncEngine,
) -> None:
    first_topic, second_topic, facts = [await new_topic(partitions=1) for _ in range(3)]
    caused: list[Event[Any]] = []
    handled = asyncio.Event()

    async def handle(event: Event[EventData]) -> None:
        # What a service does: its state change and the event it causes, in one transaction.
        following = new_event(OrderDelivered.example(), source="/t", caused_by=event)
        async with engine.begin() as conn:
            await add_to_outbox(conn, outbox, following, topic=second_topic)
        caused.append(following)
        handled.set()

    async with Producer(kafka_bootstrap, client_id="traced") as producer:
        with span_from(None, "POST /webhooks/stripe", kind=SpanKind.SERVER) as root:
            first = new_event(OrderShipped.example(), source="/t")
            assert first.traceparent == current_traceparent()
            await EventPublisher(producer, first_topic).publish(first)

        broker = create_broker(kafka_bootstrap, client_id="traced-consumer")
        failures = FailureHandling.for_consumer(
            producer,
            group=f"g-{uuid.uuid4().hex}",
            fact_topic=facts,
            source="/t",
            policy=RetryPolicy(backoff=Backoff(base=0.05, cap=0.2)),
        )
        subscribe_events(
            broker, first_topic, group_id=failures.group, handler=handle, failures=failures
        )
        async with broker:
            await broker.start()
            await asyncio.wait_for(handled.wait(), 60)

        relay = OutboxRelay(engine=engine, producer=producer, table=outbox)
        assert await relay.relay_batch() == 1

    (record,) = await read_topic(second_topic, 1)
    relayed = decode(record.value or b"")
    assert relayed.id == caused[0].id
    assert dict((k, v.decode()) for k, v in record.headers)["traceparent"] == relayed.traceparent

    trace_id = hex_id(root.get_span_context().trace_id, 32)
    finished = spans.get_finished_spans()
    by_name = {span.name: span for span in finished}
    assert {hex_id(s.context.trace_id, 32) for s in finished} == {trace_id}
    published = by_name[f"{first_topic} publish"]
    processed = by_name[f"{first_topic} process"]
    relayed_span = by_name[f"{second_topic} publish"]
    root_id = hex_id(root.get_span_context().span_id, 16)
    assert published.kind is SpanKind.PRODUCER and parent_of(published) == root_id
    assert processed.kind is SpanKind.CONSUMER and parent_of(processed) == root_id
    # The caused event was made in the consumer's span; the relay continues from there.
    processed_id = hex_id(processed.context.span_id, 16)
    assert relayed.traceparent is not None
    assert relayed.traceparent.startswith(f"00-{trace_id}-{processed_id}-")
    assert trace_id_of(relayed.traceparent) == trace_id
    assert parent_of(relayed_span) == processed_id
