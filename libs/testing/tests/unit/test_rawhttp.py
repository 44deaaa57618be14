"""post_once: one POST on its own connection, answered as a real server answers it."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse

from shoptrail.testing.rawhttp import parse, post_once


def test_a_chunked_answer_is_put_back_together() -> None:
    answer = parse(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-A: 1\r\n\r\n"
        b"5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\n\r\n"
    )
    assert (answer.status, answer.headers["x-a"], answer.body) == (200, "1", b"hello world")


def test_a_cut_off_answer_is_an_error() -> None:
    with pytest.raises(ConnectionError):
        parse(b"HTTP/1.1 200 OK\r\nContent-Le")


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """A real uvicorn server, as the shop's services run."""
    app = FastAPI()

    @app.post("/echo")
    async def echo(request: Request) -> JSONResponse:
        body = await request.body()
        return JSONResponse(
            {"body": body.decode(), "sig": request.headers.get("x-sig")},
            status_code=503,
            headers={"Retry-After": "5"},
        )

    @app.post("/stream")
    async def stream() -> StreamingResponse:
        return StreamingResponse(iter([b"a", b"b"]))

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()  # connections wait in the backlog until the server accepts them
    config = uvicorn.Config(app, log_level="warning")
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        running.should_exit = True
        thread.join(timeout=30)


async def test_status_headers_and_body_come_back(server: str) -> None:
    answer = await post_once(f"{server}/echo", b'{"x": 1}', {"X-Sig": "t=1,v1=ab"})
    assert answer.status == 503
    assert answer.headers["retry-after"] == "5"
    assert answer.body == b'{"body":"{\\"x\\": 1}","sig":"t=1,v1=ab"}'


async def test_a_streamed_answer_is_read_whole(server: str) -> None:
    assert (await post_once(f"{server}/stream", b"", {})).body == b"ab"
