"""Whole WebSocket frames encoded once and written straight to many sockets.

A server's frames are not masked, so one broadcast message is the same bytes on
every connection: the hub builds them once and hands them to each socket's
transport, instead of every client going through ASGI `send` (and the server
re-framing the same text 5,000 times, one task wake-up per client).

That needs the connection's transport, which ASGI does not expose: `RawSocket.of`
finds uvicorn's sans-I/O WebSocket protocol behind the ASGI `receive` callable
(no middleware wraps a WebSocket's `receive`). Anything else (another server or
WebSocket implementation, a wrapped `receive`, a negotiated extension such as
compression) gives None, and the connection's messages go through ASGI `send`
as before.
"""

from __future__ import annotations

from typing import Any

from starlette.websockets import WebSocket
from websockets.frames import Frame, Opcode
from websockets.protocol import State


def text_frame(message: str) -> bytes:
    """One unmasked, unfragmented text frame: the same bytes for every connection."""
    return Frame(Opcode.TEXT, message.encode()).serialize(mask=False, extensions=[])


class RawSocket:
    """Writes whole frames to one connection's transport, while it is open and keeping up.

    The server's own writes (handshake, pings, close) are whole frames too, so
    frames never interleave; nothing is written once the close frame is out.
    """

    __slots__ = ("_protocol", "_transport")

    def __init__(self, protocol: Any) -> None:
        self._protocol = protocol
        self._transport = protocol.transport

    @classmethod
    def of(cls, websocket: WebSocket) -> RawSocket | None:
        """The raw socket under an accepted WebSocket, or None where there is none to use."""
        from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

        protocol = getattr(websocket._receive, "__self__", None)
        if not isinstance(protocol, WebSocketsSansIOProtocol):
            return None
        if protocol.conn.extensions or protocol.conn.state is not State.OPEN:
            return None
        return cls(protocol)

    @property
    def open(self) -> bool:
        p = self._protocol
        return not (p.close_sent or p.disconnected or self._transport.is_closing())

    @property
    def ready(self) -> bool:
        """Open, and its send buffer below the transport's high-water mark."""
        return self._protocol.writable.is_set() and self.open

    def write(self, frame: bytes) -> None:
        if self.open:
            self._transport.write(frame)

    async def writable(self) -> None:
        """Until the peer has read enough of what was sent (or the connection is gone)."""
        await self._protocol.writable.wait()
