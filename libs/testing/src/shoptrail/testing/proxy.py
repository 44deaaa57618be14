"""A TCP proxy a test can cut, to take a dependency away without stopping its shared server.

    async with TcpProxy("127.0.0.1", 5433) as proxy:   # listens on 127.0.0.1:proxy.port
        ...                                            # point the code under test at it
        await proxy.cut()       # every open connection closed; new ones refused
        await proxy.restore()   # new connections reach the target again

"Refused" means accepted and closed at once (the client reads end-of-file), so
the port stays ours throughout. `cut(blackhole=True)` instead accepts new
connections and never answers: a client waits for its own timeout, as it
would for a host gone from the network.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from types import TracebackType
from typing import Self
from urllib.parse import urlsplit

_CHUNK = 65536


class TcpProxy:
    """Forwards connections on 127.0.0.1:`port` to `target_host`:`target_port`."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self._server: asyncio.Server | None = None
        self._cut = False
        self._blackhole = False
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def port(self) -> int:
        assert self._server is not None, "start the proxy first"
        return int(self._server.sockets[0].getsockname()[1])

    @property
    def is_cut(self) -> bool:
        return self._cut

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)

    async def cut(self, *, blackhole: bool = False) -> None:
        """Close every open connection; refuse (or, with `blackhole`, ignore) new ones."""
        self._cut, self._blackhole = True, blackhole
        await self._close_all()

    async def restore(self) -> None:
        """Forward new connections again (connections held by a black hole are closed)."""
        if not self._cut:
            return
        self._cut = self._blackhole = False
        await self._close_all()

    async def aclose(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        await self._close_all()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def _close_all(self) -> None:
        for writer in list(self._writers):
            writer.transport.abort()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._cut and not self._blackhole:
            writer.transport.abort()
            return
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._writers.add(writer)
        upstream: asyncio.StreamWriter | None = None
        try:
            if self._cut:  # a black hole: hold the connection, say nothing
                await asyncio.Event().wait()
            up_reader, upstream = await asyncio.open_connection(*self.target)
            self._writers.add(upstream)
            await asyncio.gather(_pipe(reader, upstream), _pipe(up_reader, writer))
        except (OSError, asyncio.CancelledError):
            pass  # the target is away, or we were cut: the client sees its connection close
        finally:
            for end in (writer, upstream):
                if end is not None:
                    end.transport.abort()
                    self._writers.discard(end)
            self._tasks.discard(task)


@contextlib.asynccontextmanager
async def proxied_url(url: str) -> AsyncIterator[tuple[TcpProxy, str]]:
    """A proxy in front of the server `url` names, and the same URL through the proxy.

    Credentials, path and query are kept: `postgresql+asyncpg://u:p@db:5432/x`
    becomes `postgresql+asyncpg://u:p@127.0.0.1:<proxy>/x`.
    """
    parts = urlsplit(url)
    async with TcpProxy(parts.hostname or "127.0.0.1", parts.port or 5432) as proxy:
        credentials, at, _ = parts.netloc.rpartition("@")
        netloc = f"{credentials}{at}127.0.0.1:{proxy.port}"
        yield proxy, parts._replace(netloc=netloc).geturl()


async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    """Copy until end-of-file, then pass the end-of-file on (half-close)."""
    while data := await source.read(_CHUNK):
        sink.write(data)
        await sink.drain()
    if sink.can_write_eof():
        with contextlib.suppress(OSError):
            sink.write_eof()
