"""One order's whole story as one trace: W3C trace context carried by every event.

The carrier is the envelope's `traceparent` (the CloudEvents distributed
tracing extension), copied into a `traceparent` Kafka header so that tools
which only read headers (FastStream's telemetry middleware, kcat, a collector)
see it too. The rules, kept here once:

* An event is made in the context of the span that is current (`new_event`
  reads `current_traceparent()`): a webhook's span at ingest, a consumer's
  span in fulfilment, a job's span in a worker. So every event caused by
  another continues its trace.
* Whoever handles an event starts a span whose parent is the event's
  `traceparent` (`span_from`): FastStream's middleware does it for every
  subscriber; the outbox relays, jobs and activity do it themselves.
* Work that leaves the process (Kafka, a provider's API, SMTP) is a span of
  its own.

Only the OpenTelemetry *API* is used here; whether spans are recorded and
where they go is the process's choice (`shoptrail.kit.tracing`). With no SDK
installed every call is a cheap no-op and events carry no `traceparent`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from shoptrail.events.failures import describe

TRACER_NAME = "shoptrail"
_PROPAGATOR = TraceContextTextMapPropagator()


def tracer() -> trace.Tracer:
    """The tracer every Shoptrail span comes from (resolved per call: the provider may be
    installed after import)."""
    return trace.get_tracer(TRACER_NAME)


def current_traceparent() -> str | None:
    """The W3C `traceparent` of the current span, or None outside any (valid) span."""
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier)
    return carrier.get("traceparent")


def context_of(traceparent: str | None) -> otel_context.Context | None:
    """A context whose parent span is the one `traceparent` names (None if it names none)."""
    if not traceparent:
        return None
    extracted = _PROPAGATOR.extract({"traceparent": traceparent})
    if not trace.get_current_span(extracted).get_span_context().is_valid:
        return None
    return extracted


def trace_id_of(traceparent: str | None) -> str | None:
    """The 32-hex trace id inside a `traceparent`, or None."""
    if not traceparent:
        return None
    parts = traceparent.split("-")
    return parts[1] if len(parts) == 4 and len(parts[1]) == 32 else None


def is_sampled(traceparent: str | None) -> bool:
    """Did the trace's root decide to record it (the `sampled` flag)?"""
    if not traceparent:
        return False
    flags = traceparent.rsplit("-", 1)[-1]
    try:
        return bool(int(flags, 16) & 0x01)
    except ValueError:
        return False


@contextmanager
def span_from(
    traceparent: str | None,
    name: str,
    *,
    kind: SpanKind = SpanKind.INTERNAL,
    attributes: Mapping[str, Any] | None = None,
) -> Iterator[Span]:
    """A current span, child of the one `traceparent` names (a new trace without one).

    An exception that leaves it marks it failed with a safe reason (`mark_failed`).
    """
    with current_span(
        name, context=context_of(traceparent), kind=kind, attributes=attributes
    ) as span:
        yield span


@contextmanager
def current_span(
    name: str,
    *,
    context: otel_context.Context | None = None,
    kind: SpanKind = SpanKind.INTERNAL,
    attributes: Mapping[str, Any] | None = None,
) -> Iterator[Span]:
    """`start_as_current_span` without the SDK's own exception handling, which would copy the
    exception's message and traceback into the span (they can quote customer data): an
    exception marks the span failed with a safe reason instead."""
    with tracer().start_as_current_span(
        name,
        context=context,
        kind=kind,
        attributes=attributes,
        record_exception=False,
        set_status_on_exception=False,
    ) as span:
        try:
            yield span
        except BaseException as error:
            if not isinstance(error, GeneratorExit):
                mark_failed(span, error)
            raise


def start_span_from(
    traceparent: str | None,
    name: str,
    *,
    kind: SpanKind = SpanKind.INTERNAL,
    attributes: Mapping[str, Any] | None = None,
    start_time: int | None = None,
) -> Span:
    """A span, child of `traceparent`, not made current: the caller ends it (pipelined sends)."""
    return tracer().start_span(
        name,
        context=context_of(traceparent),
        kind=kind,
        attributes=attributes,
        start_time=start_time,
    )


@contextmanager
def producer_spans(sends: Iterable[tuple[str, Mapping[str, str] | None]]) -> Iterator[None]:
    """A producer span per record sent in the block (`(topic, headers)` each), pipelined:
    all end when the block does, all marked failed if it raised."""
    spans = [producer_span(topic, headers) for topic, headers in sends]
    try:
        yield
    except BaseException as error:
        for span in spans:
            mark_failed(span, error)
        raise
    finally:
        for span in spans:
            span.end()


def producer_span(topic: str, headers: Mapping[str, str] | None) -> Span:
    """The span of one record sent to `topic`, child of the trace its headers carry."""
    return start_span_from(
        (headers or {}).get("traceparent"),
        f"{topic} publish",
        kind=SpanKind.PRODUCER,
        attributes={
            "messaging.system": "kafka",
            "messaging.destination.name": topic,
            "messaging.operation.type": "send",
        },
    )


def mark_failed(span: Span, error: BaseException) -> None:
    """Mark `span` failed with a safe one-line reason (`describe`): never the exception's own
    message or traceback, which can quote customer data."""
    span.set_status(StatusCode.ERROR, describe(error))
    span.set_attribute("error.type", type(error).__qualname__)


def job_args(**args: Any) -> dict[str, Any]:
    """A job's arguments with the current `traceparent`, so the job continues this trace."""
    if traceparent := current_traceparent():
        args["traceparent"] = traceparent
    return args


def job_span(task: str, traceparent: str | None, *, job_id: int | None = None) -> Any:
    """The span of one run of a job, child of the trace that enqueued it (`job_args`)."""
    attributes: dict[str, Any] = {"shoptrail.job.task": task}
    if job_id is not None:
        attributes["shoptrail.job.id"] = job_id
    return span_from(traceparent, f"job {task}", kind=SpanKind.CONSUMER, attributes=attributes)
