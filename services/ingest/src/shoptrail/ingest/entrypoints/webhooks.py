"""The webhook routes: thin — read the headers, hand the raw body to the sender's use case."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse

from shoptrail.ingest.entrypoints.responses import ERROR_RESPONSES, Receipt, RuntimeDep, answer
from shoptrail.ingest.service_layer import webhooks

router = APIRouter(prefix="/webhooks", tags=["webhooks"])


def _json_body(schema: dict[str, Any]) -> dict[str, Any]:
    """Document the raw JSON body the route reads itself (it must stay unparsed for signatures)."""
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


_OBJECT: dict[str, Any] = {"type": "object"}
STRIPE_EVENT = {
    "type": "object",
    "required": ["id", "type", "created", "data"],
    "properties": {
        "id": {"type": "string", "example": "evt_1PqR"},
        "object": {"type": "string", "example": "event"},
        "type": {"type": "string", "example": "checkout.session.completed"},
        "created": {"type": "integer", "example": 1767225600},
        "data": {"type": "object", "properties": {"object": _OBJECT}},
    },
}
PRINTIFY_EVENT = {
    "type": "object",
    "required": ["id", "type", "created_at", "resource"],
    "properties": {
        "id": {"type": "string"},
        "type": {"type": "string", "example": "order:shipment:created"},
        "created_at": {"type": "string", "example": "2026-02-16 14:23:00+00:00"},
        "resource": {"type": "object", "properties": {"id": {"type": "string"}, "data": _OBJECT}},
    },
}
PRINTFUL_EVENT = {
    "type": "object",
    "required": ["type", "occurred_at", "data"],
    "properties": {
        "type": {"type": "string", "example": "shipment_sent"},
        "occurred_at": {"type": "string", "format": "date-time"},
        "retries": {"type": "integer"},
        "store_id": {"type": "integer"},
        "data": _OBJECT,
    },
}
EMAIL_EVENT = {
    "type": "object",
    "required": ["type", "created_at", "data"],
    "properties": {
        "type": {"type": "string", "example": "email.bounced"},
        "created_at": {"type": "string", "format": "date-time"},
        "data": {
            "type": "object",
            "properties": {
                "to": {"type": "array", "items": {"type": "string"}},
                "bounce": {"type": "object"},
                "tags": {"type": "object", "additionalProperties": {"type": "string"}},
            },
        },
    },
}


@router.post(
    "/stripe",
    summary="Stripe events (checkout completed / expired, charge refunded)",
    response_model=Receipt,
    responses=ERROR_RESPONSES,
    openapi_extra=_json_body(STRIPE_EVENT),
)
async def stripe_webhook(
    request: Request,
    runtime: RuntimeDep,
    stripe_signature: Annotated[str | None, Header(description="t=<unix>,v1=<hex>")] = None,
) -> JSONResponse:
    """Verified with Stripe's SDK against every configured signing secret; 200 once in Kafka."""
    return await answer(
        "stripe",
        request,
        runtime,
        lambda body: webhooks.receive_stripe(
            body,
            stripe_signature,
            settings=runtime.settings,
            now=runtime.clock(),
            stripe=runtime.stripe,
            sink=runtime.sink,
        ),
    )


@router.post(
    "/printify",
    summary="Printify order status events",
    response_model=Receipt,
    responses=ERROR_RESPONSES,
    openapi_extra=_json_body(PRINTIFY_EVENT),
)
async def printify_webhook(
    request: Request,
    runtime: RuntimeDep,
    x_pfy_signature: Annotated[str | None, Header(description="sha256=<hex HMAC>")] = None,
) -> JSONResponse:
    """HMAC-SHA256 of the raw body with the Printify webhook secret."""
    return await answer(
        "printify",
        request,
        runtime,
        lambda body: webhooks.receive_printify(
            body, x_pfy_signature, settings=runtime.settings, now=runtime.clock(), sink=runtime.sink
        ),
    )


@router.post(
    "/printful",
    summary="Printful (webhook v2) order and shipment events",
    response_model=Receipt,
    responses=ERROR_RESPONSES,
    openapi_extra=_json_body(PRINTFUL_EVENT),
)
async def printful_webhook(
    request: Request,
    runtime: RuntimeDep,
    x_pf_webhook_signature: Annotated[
        str | None, Header(description="hex HMAC-SHA256 keyed with the hex-decoded secret_key")
    ] = None,
) -> JSONResponse:
    """Printful v2 signature: HMAC-SHA256 of the raw body, key = hex-decoded `secret_key`."""
    return await answer(
        "printful",
        request,
        runtime,
        lambda body: webhooks.receive_printful(
            body,
            x_pf_webhook_signature,
            settings=runtime.settings,
            now=runtime.clock(),
            sink=runtime.sink,
        ),
    )


@router.post(
    "/email",
    summary="Email-provider delivery failures (bounces)",
    response_model=Receipt,
    responses=ERROR_RESPONSES,
    openapi_extra=_json_body(EMAIL_EVENT),
)
async def email_webhook(
    request: Request,
    runtime: RuntimeDep,
    webhook_id: Annotated[str | None, Header(description="The delivery's message id.")] = None,
    webhook_timestamp: Annotated[str | None, Header(description="Unix seconds.")] = None,
    webhook_signature: Annotated[str | None, Header(description="v1,<base64 HMAC>")] = None,
) -> JSONResponse:
    """Standard Webhooks signature (as Resend/Svix send) over `{id}.{timestamp}.{body}`."""
    headers = webhooks.StandardWebhookHeaders(webhook_id, webhook_timestamp, webhook_signature)
    return await answer(
        "email",
        request,
        runtime,
        lambda body: webhooks.receive_email(
            body, headers, settings=runtime.settings, now=runtime.clock(), sink=runtime.sink
        ),
    )
