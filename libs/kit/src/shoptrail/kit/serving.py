"""Serving an ASGI app with uvicorn, the same way in every process.

uvicorn's default `log_config` installs plain-text handlers on its own
loggers; every Shoptrail process instead logs JSON lines through the root
handler that `configure_logging` set up. So every server is built here, with
`log_config=None` and uvicorn's loggers routed to the root.

uvicorn is imported where it is used: the services that serve depend on it.
"""

from __future__ import annotations

import socket
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
