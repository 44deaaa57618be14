"""How every webhook is answered: read the body within limits, map outcomes to HTTP, count it."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Annotated, Literal

from fastapi import Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from shoptrail.ingest.domain.errors import InvalidWebhookError, UpstreamUnavailableError
from shoptrail.ingest.runtime import Runtime
from shoptrail.ingest.service_layer.handlers import Outcome

log = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 30


class BodyTooLargeError(InvalidWebhookError):
    """Refused before reading further: the body is over `INGEST_MAX_BODY_BYTES`."""

    status_code = 413


class Receipt(BaseModel):
    """The 200 answer: the events now durable in Kafka, or why the webhook was ignored."""

    status: Literal["published", "ignored"]
    kind: str = Field(description="The sender's event type.")
    event_ids: list[str] = Field(default_factory=list)
    reason: str | None = None


class ErrorBody(BaseModel):
    """A 4xx/5xx answer: a stable `error` code and a `detail` for people."""

    error: str
    detail: str


ERROR_RESPONSES: dict[int | str, dict[str, object]] = {
    400: {"model": ErrorBody, "description": "Genuinely signed but unreadable payload."},
    401: {"model": ErrorBody, "description": "Unsigned, forged, tampered, stale or future."},
    413: {"model": ErrorBody, "description": "Body larger than the configured limit."},
    503: {
        "model": ErrorBody,
        "description": "Kafka or Stripe unavailable, or ingest too busy (`overloaded`): retry.",
    },
}


def get_runtime(request: Request) -> Runtime:
    """The app's runtime (settings, ports, metrics)."""
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def read_body(request: Request, limit: int) -> bytes:
    """The raw body, refused with 413 as soon as it is known to exceed `limit` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise BodyTooLargeError("body_too_large", f"the body is over the {limit}-byte limit")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLargeError("body_too_large", f"the body is over the {limit}-byte limit")
        chunks.append(chunk)
    return b"".join(chunks)


def _error(
    status: int, error: str, detail: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    body = ErrorBody(error=error, detail=detail).model_dump()
    return JSONResponse(body, status_code=status, headers=headers)


async def answer(
    sender: str,
    request: Request,
    runtime: Runtime,
    handle: Callable[[bytes], Awaitable[Outcome]],
) -> JSONResponse:
    """Read the body, run the sender's use case on it, answer and count the result."""
    metrics = runtime.metrics
    started = time.perf_counter()
    try:
        outcome = await handle(await read_body(request, runtime.settings.max_body_bytes))
    except InvalidWebhookError as exc:
        metrics.webhooks.labels(sender, "rejected").inc()
        metrics.rejected.labels(sender, exc.reason).inc()
        log.warning("webhook refused", extra={"sender": sender, "reason": exc.reason})
        return _error(exc.status_code, exc.reason, exc.detail)
    except UpstreamUnavailableError as exc:
        metrics.webhooks.labels(sender, "unavailable").inc()
        log.error(
            "webhook not taken: upstream unavailable", extra={"sender": sender, "error": str(exc)}
        )
        return _error(503, "unavailable", str(exc), {"Retry-After": str(RETRY_AFTER_SECONDS)})
    finally:
        metrics.handling_seconds.labels(sender).observe(time.perf_counter() - started)
    metrics.webhooks.labels(sender, outcome.status).inc()
    if outcome.status == "ignored":
        metrics.ignored.labels(sender, outcome.kind).inc()
    for event, result in zip(outcome.events, outcome.results, strict=True):
        if result == "published":
            metrics.published.labels(event.type).inc()
    receipt = Receipt(
        status=outcome.status,
        kind=outcome.kind,
        event_ids=[str(event.id) for event in outcome.events],
        reason=outcome.reason,
    )
    return JSONResponse(receipt.model_dump())
