"""configure_tracing: ids always, recording only when exported; spans never quote data."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.util._once import Once

from shoptrail.events import new_event
from shoptrail.events.fulfilment import OrderShipped
from shoptrail.events.tracing import current_span, is_sampled, span_from, trace_id_of
from shoptrail.kit.tracing import configure_tracing, http_telemetry


@pytest.fixture(autouse=True)
def fresh_provider(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test may install its own global tracer provider; the previous one comes back."""
    for name in ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("OTEL_SDK_DISABLED", raising=False)
    monkeypatch.delenv("OTEL_SERVICE_NAME", raising=False)
    saved = (trace._TRACER_PROVIDER, trace._TRACER_PROVIDER_SET_ONCE)
    trace._TRACER_PROVIDER_SET_ONCE = Once()
    try:
        yield
    finally:
        trace._TRACER_PROVIDER, trace._TRACER_PROVIDER_SET_ONCE = saved


def test_without_an_endpoint_ids_flow_but_nothing_is_recorded() -> None:
    provider = configure_tracing("ingest")
    assert isinstance(provider, TracerProvider)
    assert provider.resource.attributes["service.name"] == "ingest"
    with span_from(None, "POST /webhooks/stripe") as span:
        assert not span.is_recording()
        event = new_event(OrderShipped.example(), source="/t")
    trace_id = trace_id_of(event.traceparent)
    assert trace_id == format(span.get_span_context().trace_id, "032x")
    assert not is_sampled(event.traceparent)  # downstream makes no spans for it either


def test_an_exported_provider_records_and_honours_the_service_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OTEL_SERVICE_NAME", "shop-ingest")
    exporter = InMemorySpanExporter()
    provider = configure_tracing("ingest", processor=SimpleSpanProcessor(exporter))
    assert provider is not None
    with span_from(None, "POST /webhooks/stripe"):
        event = new_event(OrderShipped.example(), source="/t")
    assert is_sampled(event.traceparent)
    (span,) = exporter.get_finished_spans()
    assert span.resource.attributes["service.name"] == "shop-ingest"


def test_the_sdk_can_be_switched_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    assert configure_tracing("ingest") is None
    assert new_event(OrderShipped.example(), source="/t").traceparent is None


def test_a_failed_span_says_why_without_quoting_the_data() -> None:
    exporter = InMemorySpanExporter()
    configure_tracing("notifier", processor=SimpleSpanProcessor(exporter))
    with pytest.raises(ValueError, match="550"), current_span("smtp send"):
        raise ValueError("550 mailbox unavailable: ada.lovelace@example.com")
    (span,) = exporter.get_finished_spans()
    assert span.status.status_code is trace.StatusCode.ERROR
    assert "ada.lovelace@example.com" not in (span.status.description or "")
    assert span.attributes is not None and span.attributes["error.type"] == "ValueError"
    assert not span.events  # no recorded exception: its message and traceback would quote it


def test_probes_make_no_request_spans() -> None:
    exclude = http_telemetry()["exclude"]
    assert exclude is not None
    assert exclude({"type": "http", "path": "/readyz"})
    assert not exclude({"type": "http", "path": "/webhooks/stripe"})
