"""The admin's calls to the services continue the owner's request's trace."""

from __future__ import annotations

import httpx
from opentelemetry.sdk.trace import TracerProvider
from pydantic import SecretStr

from shoptrail.admin_ui.adapters.http import service_client
from shoptrail.events.tracing import current_traceparent


async def test_a_call_made_inside_a_span_carries_its_traceparent() -> None:
    seen: list[str | None] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("traceparent"))
        return httpx.Response(200, json={})

    tracer = TracerProvider().get_tracer("test")  # recording, without touching the global
    async with service_client(
        "http://fulfilment", SecretStr("t"), 5.0, transport=httpx.MockTransport(answer)
    ) as client:
        await client.get("/outside")
        with tracer.start_as_current_span("POST /admin/orders/ord_1/retry"):
            expected = current_traceparent()
            await client.post("/orders/ord_1/submission/retry")
    assert expected is not None
    assert seen == [None, expected]
