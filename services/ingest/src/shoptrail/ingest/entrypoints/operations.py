"""Operational routes: liveness, readiness (Kafka reachable) and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST

from shoptrail.ingest.entrypoints.responses import RuntimeDep

router = APIRouter(tags=["operations"])


@router.get("/healthz")
async def health() -> dict[str, str]:
    """Liveness: the process is up and serving."""
    return {"status": "ok", "service": "ingest"}


@router.get("/readyz", responses={503: {"description": "Kafka is not reachable."}})
async def ready(runtime: RuntimeDep) -> JSONResponse:
    """Readiness: Kafka answers, so webhooks can be taken (otherwise they would get 503)."""
    if await runtime.kafka_ready():
        return JSONResponse({"status": "ready"})
    return JSONResponse({"status": "kafka unreachable"}, status_code=503)


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus text."}},
)
async def metrics(runtime: RuntimeDep) -> Response:
    """Prometheus metrics: webhooks by outcome, refusals by reason, events published by type."""
    return Response(runtime.metrics.exposition(), media_type=CONTENT_TYPE_LATEST)
