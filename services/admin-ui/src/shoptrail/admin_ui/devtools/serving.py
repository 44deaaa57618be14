"""Serve an ASGI app with uvicorn on a free local port, inside the caller's event loop."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn
from starlette.types import ASGIApp


def reserve_port() -> socket.socket:
    """A bound, not yet listening socket: its port is known now and stays ours.

    Picking a free port and binding it later races with anything else on the
    machine (an outgoing connection can take it in between); holding the
    socket does not.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


def port_of(sock: socket.socket) -> int:
    return int(sock.getsockname()[1])


SHUTDOWN_GRACE_SECONDS = 3
"""How long stopping waits for open requests and WebSockets before cancelling them.

Without a bound, one connection that never ends keeps the server (and a test's
teardown) waiting forever. A browser reconnecting its WebSocket just as the
server stops can be such a connection: accepted before the listening socket
closed, it is set up only after uvicorn has asked the open connections to close.
"""


@asynccontextmanager
async def serving(app: ASGIApp, sock: socket.socket | None = None) -> AsyncIterator[str]:
    """Serve `app` (lifespan included) on `sock` (default: a fresh one) until the block ends.

    Yields its base URL. A socket passed in stays the caller's to close.
    """
    owned = sock is None
    listening = sock if sock is not None else reserve_port()
    config = uvicorn.Config(
        app, log_level="warning", lifespan="on", timeout_graceful_shutdown=SHUTDOWN_GRACE_SECONDS
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[listening]))
    async with asyncio.timeout(30):
        while not server.started:
            if task.done():
                task.result()  # raises why it could not start
                raise RuntimeError("the server stopped before it started")
            await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port_of(listening)}"
    finally:
        server.should_exit = True
        await task
        if owned:
            listening.close()
