"""Where a process's spans go: OpenTelemetry's SDK, configured the standard way.

Every process calls `configure_tracing(<its name>)` once at start. Trace ids
are always made (events carry them to the activity log, log lines carry them),
but spans are *recorded and exported* only when an OTLP endpoint is set:

* `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) set:
  spans go there over OTLP/HTTP (protobuf) in batches; sampling follows
  `OTEL_TRACES_SAMPLER` (default: parent-based, always on).
* Not set: the root of each trace decides "not sampled", so nothing is
  recorded or sent and a span costs a few microseconds; the ids still flow.
* `OTEL_SDK_DISABLED=true`: no SDK at all (no trace ids either).

`OTEL_SERVICE_NAME` and `OTEL_RESOURCE_ATTRIBUTES` are honoured; the service
name defaults to the process's name (`ingest`, `fulfilment-worker`, ...).
Every other `OTEL_*` variable of the SDK and the exporter (headers, timeouts,
batch sizes) works as documented by OpenTelemetry.
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping
from typing import Any

from fastapi.telemetry import TelemetryConfig
from opentelemetry import trace
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ParentBased

ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")


def exporting() -> bool:
    """Is an OTLP endpoint configured?"""
    return any(os.environ.get(name) for name in ENDPOINT_VARIABLES)


def configure_tracing(
    service: str, *, processor: SpanProcessor | None = None
) -> TracerProvider | None:
    """Install the process's tracer provider (see the module docstring); returns it.

    `processor` replaces the OTLP export (tests pass an in-memory exporter's).
    """
    if os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return None
    attributes = {} if os.environ.get("OTEL_SERVICE_NAME") else {SERVICE_NAME: service}
    resource = Resource.create(attributes)
    if processor is None and exporting():
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        processor = BatchSpanProcessor(OTLPSpanExporter())
    if processor is None:
        provider = TracerProvider(resource=resource, sampler=ParentBased(ALWAYS_OFF))
    else:
        provider = TracerProvider(resource=resource)  # OTEL_TRACES_SAMPLER, else always on
        provider.add_span_processor(processor)
    trace.set_tracer_provider(provider)
    return provider


PROBES = frozenset({"/healthz", "/readyz", "/metrics"})
"""Paths an orchestrator or Prometheus calls every few seconds: no story, no spans."""


def _is_probe(scope: MutableMapping[str, Any]) -> bool:
    return scope.get("path") in PROBES


def http_telemetry() -> TelemetryConfig:
    """FastAPI's own request spans (a server span per request, continuing the caller's
    `traceparent`), for `FastAPI(telemetry=...)`: probes are left out, and its exception
    logs are off (they carry exception messages, which can quote customer data)."""
    return {"exclude": _is_probe, "logs": False}
