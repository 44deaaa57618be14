"""The in-process server the tests and tools use: it stops even when a connection will not."""

from __future__ import annotations

import asyncio
import time

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from shoptrail.admin_ui.devtools.serving import SHUTDOWN_GRACE_SECONDS, serving


async def test_stopping_cancels_a_request_that_never_ends() -> None:
    started = asyncio.Event()

    async def forever(request: Request) -> Response:
        started.set()
        await asyncio.Event().wait()  # never answers, never looks for the disconnect
        return Response()

    app = Starlette(routes=[Route("/forever", forever)])
    async with httpx.AsyncClient(timeout=30) as http:
        async with serving(app) as url:
            pending = asyncio.create_task(http.get(f"{url}/forever"))
            await asyncio.wait_for(started.wait(), 10)
            stopping = time.monotonic()
        stopped_after = time.monotonic() - stopping
        pending.cancel()
    assert stopped_after < SHUTDOWN_GRACE_SECONDS + 5
