"""Structured (JSON lines) logging, the same in every service.

An exception is logged as its types, one safe line (`describe()`: no SQL, bound
parameters, payloads or email addresses) and the `file:line in function` of
each frame, never as a traceback: exception messages quote the data that failed.

Every line names its process (`service`: ingest, fulfilment-worker, …), the
OpenTelemetry trace it belongs to (`trace_id`, when a span is active) and the
event being handled (`event_id`, set by the consumer loop: see
shoptrail.events.logcontext). uvicorn's own loggers write through the same
handler (`uvicorn_logging()`), never through uvicorn's plain-text config.
"""

from __future__ import annotations

import json
import logging
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from opentelemetry import trace

from shoptrail.events.failures import describe
from shoptrail.events.logcontext import current_event_id

# Attributes every LogRecord has; anything else was passed in `extra=` and is logged as a field.
# uvicorn's `color_message` is its message again with terminal colour codes.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {
    "message",
    "asctime",
    "taskName",
    "color_message",
}
_MAX_CAUSES = 8
_MAX_FRAMES = 40  # the innermost ones; a RecursionError has a thousand


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, service, logger, message, the trace and event
    being handled, and the `extra` fields."""

    def __init__(self, service: str | None = None) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
        }
        if self.service:
            entry["service"] = self.service
        entry["logger"] = record.name
        entry["message"] = record.getMessage()
        entry.update(_context_fields())
        entry.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
        if record.exc_info and record.exc_info[1] is not None:
            entry["exception"] = exception_fields(record.exc_info[1])
        return json.dumps(entry, default=_json_value, ensure_ascii=False)


def _context_fields() -> dict[str, str]:
    """`trace_id` of the active span and `event_id` of the event being handled, when there are."""
    fields: dict[str, str] = {}
    span = trace.get_current_span().get_span_context()
    if span.is_valid:
        fields["trace_id"] = trace.format_trace_id(span.trace_id)
    if (event_id := current_event_id()) is not None:
        fields["event_id"] = event_id
    return fields


def exception_fields(error: BaseException) -> dict[str, Any]:
    """An exception as log fields: type, safe one-line message, frames, and the same per cause."""
    fields: dict[str, Any] = {
        "type": _type_name(error),
        "message": _safe_message(error),
        "frames": _frames(error),
    }
    causes = [
        {"type": _type_name(c), "message": _safe_message(c), "frames": _frames(c)}
        for c in _causes(error)
    ]
    if causes:
        fields["causes"] = causes
    return fields


def _json_value(value: object) -> object:
    # An exception in `extra=` (or inside a list or dict there) gets the same safe rendering.
    if isinstance(value, BaseException):
        return exception_fields(value)
    return str(value)


def _safe_message(error: BaseException) -> str:
    try:
        return describe(error)
    except Exception:  # a formatter must never fail: say less rather than nothing
        return type(error).__name__


def _type_name(error: BaseException) -> str:
    cls = type(error)
    return (
        cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"
    )


def _causes(error: BaseException) -> list[BaseException]:
    """What raised `error`, then what raised that, as Python's traceback would print them."""
    chain: list[BaseException] = []
    seen = {id(error)}
    current: BaseException | None = error
    while current is not None and len(chain) < _MAX_CAUSES:
        current = current.__cause__ or (
            None if current.__suppress_context__ else current.__context__
        )
        if current is None or id(current) in seen:
            break
        seen.add(id(current))
        chain.append(current)
    return chain


def _frames(error: BaseException) -> list[str]:
    """`file:line in function` for each frame, innermost last; no source lines, no locals."""
    frames = [
        f"{frame.f_code.co_filename}:{line} in {frame.f_code.co_qualname}"
        for frame, line in traceback.walk_tb(error.__traceback__)
    ]
    if len(frames) > _MAX_FRAMES:
        frames = [f"({len(frames) - _MAX_FRAMES} outer frames left out)", *frames[-_MAX_FRAMES:]]
    return frames


class RepeatFilter(logging.Filter):
    """Libraries' warnings and errors said once per `window_s`, not once per retry loop.

    With Kafka away, aiokafka logs "Unable connect to node" for every reconnect
    of every client, about twenty lines a second per process, for as long as
    the outage lasts. The first line of a kind (logger, level, message
    template) passes; the same kind within `window_s` is counted, not written;
    the first one after the window carries `repeated`: how many were left out.
    Shoptrail's own loggers are never filtered: they log per backoff step and
    each line carries its own facts.
    """

    def __init__(
        self, window_s: float = 30.0, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__()
        self.window_s = window_s
        self._clock = clock
        self._seen: dict[tuple[str, int, str], tuple[float, int]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING or record.name.startswith("shoptrail."):
            return True
        key = (record.name, record.levelno, str(record.msg))
        now = self._clock()
        said_at, left_out = self._seen.get(key, (float("-inf"), 0))
        if now - said_at < self.window_s:
            self._seen[key] = (said_at, left_out + 1)
            return False
        if len(self._seen) > 1000:  # kinds are few; forget the stale ones if not
            self._seen = {k: v for k, v in self._seen.items() if now - v[0] < self.window_s}
        self._seen[key] = (now, 0)
        if left_out:
            record.repeated = left_out
        return True


def redact_query(path: str) -> str:
    """`/ws?token=abc&feed=1` → `/ws?token=…&feed=…`: the names stay, the values go."""
    base, mark, query = path.partition("?")
    if not mark:
        return path
    names = [part.partition("=")[0] for part in query.split("&") if part]
    return f"{base}?{'&'.join(f'{name}=…' for name in names)}"


class QueryRedaction(logging.Filter):
    """uvicorn's access and WebSocket lines without query values.

    A query can hold a token (an old client's `?token=`), an email searched
    for (`?q=`) or a cursor; none of it belongs in a log that is kept and
    shipped. The path and the parameter names stay for debugging.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.startswith("uvicorn") and isinstance(record.args, tuple):
            record.args = tuple(
                redact_query(arg) if isinstance(arg, str) and arg.startswith("/") else arg
                for arg in record.args
            )
        return True


def process_name(service: str, command: str) -> str:
    """The `service` field of a command's lines: `activity` serving, `activity-replay` else."""
    return service if command == "serve" else f"{service}-{command}"


UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi")


def configure_logging(level: str = "INFO", *, service: str | None = None) -> None:
    """Route the root logger to stderr as JSON lines naming `service`, libraries' repeats
    collapsed, query values left out of access lines; uvicorn's loggers included."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter(service))
    handler.addFilter(QueryRedaction())
    handler.addFilter(RepeatFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    uvicorn_logging()


def uvicorn_logging() -> None:
    """uvicorn's loggers write through the root handler (JSON), not handlers of their own.

    `uvicorn.run(log_config=LOGGING_CONFIG)`, its default, gives `uvicorn.error`
    and `uvicorn.access` plain-text handlers and stops them propagating: their
    lines then sit among the JSON ones unparsed. Serve with `log_config=None`
    (`shoptrail.kit.serving`) and call this after any other logging set-up.
    """
    for name in UVICORN_LOGGERS:
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
        logger.setLevel(logging.NOTSET)
