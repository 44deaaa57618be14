"""Each log line says which process wrote it, and the trace and event it was about."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from faststream.kafka import TestKafkaBroker
from opentelemetry import trace
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

from shoptrail.events import Event, EventData, encode, kafka_headers, kafka_key, new_event
from shoptrail.events.consuming import FailureHandling, subscribe_events
from shoptrail.events.fulfilment import OrderShipped
from shoptrail.events.logcontext import handling_event
from shoptrail.events.producer import Producer
from shoptrail.events.publisher import create_broker
from shoptrail.kit.logging import JsonFormatter, process_name

TRACE_ID = 0x4BF92F3577B34DA6A3CE929D0E0E4736
SPAN_ID = 0x00F067AA0BA902B7


class Lines(logging.Handler):
    """Formats every record as the services do and keeps the lines."""

    def __init__(self, service: str | None = None) -> None:
        super().__init__()
        self.setFormatter(JsonFormatter(service))
        self.lines: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(self.format(record)))


@pytest.fixture
def lines() -> Iterator[Lines]:
    handler = Lines("fulfilment")
    logger = logging.getLogger("shoptrail.test.context")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


log = logging.getLogger("shoptrail.test.context")


def test_every_line_names_its_process(lines: Lines) -> None:
    log.info("hello")
    assert lines.lines[0]["service"] == "fulfilment"
    assert list(lines.lines[0])[:3] == ["time", "level", "service"]


def test_a_command_other_than_serve_is_its_own_process() -> None:
    assert process_name("fulfilment", "serve") == "fulfilment"
    assert process_name("fulfilment", "worker") == "fulfilment-worker"
    assert process_name("activity", "replay") == "activity-replay"


class TestTraceId:
    def test_a_line_inside_an_active_span_carries_its_trace_id(self, lines: Lines) -> None:
        context = SpanContext(
            trace_id=TRACE_ID, span_id=SPAN_ID, is_remote=True, trace_flags=TraceFlags(1)
        )
        with trace.use_span(NonRecordingSpan(context)):
            log.info("inside")
        log.info("outside")

        inside, outside = lines.lines
        assert inside["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736"
        assert "trace_id" not in outside

    def test_an_invalid_span_context_adds_no_field(self, lines: Lines) -> None:
        with trace.use_span(NonRecordingSpan(trace.INVALID_SPAN_CONTEXT)):
            log.info("no trace")
        assert "trace_id" not in lines.lines[0]


class TestEventId:
    def test_a_line_within_handling_event_carries_the_id_and_none_after(self, lines: Lines) -> None:
        with handling_event("01J9Z8K4"):
            log.info("inside")
        log.info("after")
        assert lines.lines[0]["event_id"] == "01J9Z8K4"
        assert "event_id" not in lines.lines[1]

    async def test_a_consumer_handling_an_event_logs_its_id(self, lines: Lines) -> None:
        async def handler(event: Event[EventData]) -> None:
            log.info("shipping email queued")

        broker = create_broker("127.0.0.1:1", client_id="log-context")
        failures = FailureHandling.for_consumer(
            Producer("127.0.0.1:1", client_id="unused"),
            group="g-log",
            fact_topic="facts",
            source="/tests",
        )
        subscribe_events(broker, "orders", group_id="g-log", handler=handler, failures=failures)
        first, second = (new_event(OrderShipped.example(), source="/t") for _ in range(2))
        async with TestKafkaBroker(broker) as connected:
            for event in (first, second):
                await connected.publish(
                    encode(event), "orders", key=kafka_key(event), headers=kafka_headers(event)
                )
        log.info("idle")

        assert [line.get("event_id") for line in lines.lines] == [
            str(first.id),
            str(second.id),
            None,
        ]
