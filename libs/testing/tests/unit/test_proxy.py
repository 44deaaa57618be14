"""The test proxy forwards, cuts (refusing or black-holing) and restores."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from shoptrail.testing.proxy import TcpProxy, proxied_url

WAIT = 10.0  # generous: the machine is shared


async def _echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while data := await reader.read(1024):
        writer.write(data)
        await writer.drain()
    writer.close()


@pytest.fixture
async def proxy() -> AsyncIterator[TcpProxy]:
    server = await asyncio.start_server(_echo, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with TcpProxy("127.0.0.1", port) as proxy:
        yield proxy
    server.close()
    await server.wait_closed()


async def _connect(proxy: TcpProxy) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", proxy.port)


async def _echoes(proxy: TcpProxy) -> bool:
    reader, writer = await _connect(proxy)
    try:
        writer.write(b"ping")
        await writer.drain()
        return await asyncio.wait_for(reader.readexactly(4), WAIT) == b"ping"
    finally:
        writer.close()


async def _closed_by_peer(reader: asyncio.StreamReader) -> bool:
    try:
        return await asyncio.wait_for(reader.read(1024), WAIT) == b""
    except ConnectionResetError:
        return True


async def test_it_forwards_both_ways(proxy: TcpProxy) -> None:
    assert await _echoes(proxy)


async def test_a_cut_closes_open_connections_and_refuses_new_ones_until_restored(
    proxy: TcpProxy,
) -> None:
    reader, writer = await _connect(proxy)
    writer.write(b"hi")
    assert await asyncio.wait_for(reader.readexactly(2), WAIT) == b"hi"

    await proxy.cut()
    assert proxy.is_cut
    assert await _closed_by_peer(reader)
    writer.close()
    new_reader, new_writer = await _connect(proxy)
    assert await _closed_by_peer(new_reader)
    new_writer.close()

    await proxy.restore()
    assert not proxy.is_cut
    assert await _echoes(proxy)


async def test_a_black_hole_holds_new_connections_silently_until_restored(
    proxy: TcpProxy,
) -> None:
    await proxy.cut(blackhole=True)
    reader, writer = await _connect(proxy)
    writer.write(b"anyone?")
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(reader.read(1024), 0.5)

    await proxy.restore()
    assert await _closed_by_peer(reader)
    writer.close()
    assert await _echoes(proxy)


async def test_proxied_url_keeps_credentials_path_and_query() -> None:
    url = "postgresql+asyncpg://shop:p%40ss@127.0.0.1:5433/shoptrail?ssl=disable"
    async with proxied_url(url) as (proxy, through):
        assert proxy.target == ("127.0.0.1", 5433)
        assert through == (
            f"postgresql+asyncpg://shop:p%40ss@127.0.0.1:{proxy.port}/shoptrail?ssl=disable"
        )
    async with proxied_url("postgresql://localhost:6000/db") as (proxy, through):
        assert through == f"postgresql://127.0.0.1:{proxy.port}/db"
