"""One HTTP/1.1 POST on its own connection, with next to no client-side cost.

Load tests and benchmarks send hundreds of webhooks a second from a process
that shares two cores with the shop it measures. A full client (httpx: pools,
header models, a state machine per connection) costs about a millisecond of
CPU a request there, so at a few hundred a second the sender's own queue shows
up as the server's latency. This writes the request bytes and reads the answer
to the end of the connection, as a webhook sender's one-shot POST does.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass(frozen=True)
class RawAnswer:
    status: int
    headers: dict[str, str]
    """Lower-cased names; the last value of a repeated header."""
    body: bytes


async def post_once(
    url: str, body: bytes, headers: dict[str, str], *, timeout: float = 60.0
) -> RawAnswer:
    """POST `body` to `url` on a new connection (`Connection: close`) and read the answer.

    Raises OSError (refused, reset) or TimeoutError like any client would."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    head = [
        f"POST {path} HTTP/1.1",
        f"Host: {parts.netloc}",
        f"Content-Length: {len(body)}",
        "Connection: close",
        *(f"{name}: {value}" for name, value in headers.items()),
    ]
    async with asyncio.timeout(timeout):
        reader, writer = await asyncio.open_connection(host, port)
        try:
            writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)
            answer = await reader.read(-1)  # to the end: the server closes after answering
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
    return parse(answer)


def parse(answer: bytes) -> RawAnswer:
    """An HTTP/1.1 answer read to the end of its connection."""
    head, separator, rest = answer.partition(b"\r\n\r\n")
    if not separator:
        raise ConnectionError(f"no complete answer: {answer[:80]!r}")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if headers.get("transfer-encoding", "").lower() == "chunked":
        rest = _unchunked(rest)
    return RawAnswer(int(status_line.split(" ", 2)[1]), headers, rest)


def _unchunked(data: bytes) -> bytes:
    body = bytearray()
    while data:
        size_line, _, data = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        body += data[:size]
        data = data[size + 2 :]
    return bytes(body)
