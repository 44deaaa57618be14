"""Serving an ASGI app with uvicorn, the same way in every process.

uvicorn's default `log_config` installs plain-text handlers on its own
loggers; every Shoptrail process instead logs JSON lines through the root
handler that `configure_logging` set up. So every server is built here, with
`log_config=None` and uvicorn's loggers routed to the root.

uvicorn is imported where it is used: the services that serve depend on it.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from shoptrail.kit.logging import uvicorn_logging

if TYPE_CHECKING:
    import uvicorn
    from starlette.types import ASGIApp


def uvicorn_config(app: ASGIApp, **options: Any) -> uvicorn.Config:
    """`uvicorn.Config(app, **options)` that logs through our JSON handler."""
    import uvicorn

    uvicorn_logging()  # first: the Config then applies its own `log_level` and `access_log`
    return uvicorn.Config(app, **{**options, "log_config": None})


def serve(app: ASGIApp, *, sockets: list[socket.socket] | None = None, **options: Any) -> None:
    """Serve `app` until SIGINT/SIGTERM (`uvicorn.run`, with our logging)."""
    import uvicorn

    uvicorn.Server(uvicorn_config(app, **options)).run(sockets=sockets)


@contextlib.asynccontextmanager
async def served(
    app: ASGIApp, *, host: str = "127.0.0.1", port: int = 0, **options: Any
) -> AsyncIterator[str]:
    """Serve `app` on this event loop while the block runs; yields its base URL.

    Port 0 picks a free one. For the dev fakes served inside a test's or a
    tool's own loop; a service's process uses `serve`. `options` go to
    `uvicorn.Config` (e.g. `ws="websockets-sansio"`).
    """
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    config = uvicorn.Config(
        app,
        **{"log_level": "warning", "lifespan": "off", "timeout_graceful_shutdown": 1, **options},
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        yield f"http://{host}:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        await task
        sock.close()
