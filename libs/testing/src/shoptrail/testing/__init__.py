"""Types of the shared test fixtures (defined in the repository's root `conftest.py`).

Tests annotate fixtures with these instead of importing `conftest`, which is
ambiguous as soon as a service has a conftest of its own.
"""

from __future__ import annotations

import random
import socket
from typing import Protocol

from aiokafka import ConsumerRecord

_handed_out: set[int] = set()


def free_port() -> int:
    """A port nothing listens on now, for a server started in another process.

    Drawn below Linux's ephemeral range (32768+), so an outgoing connection
    cannot take it before the server binds, and never handed out twice by
    this process.
    """
    for _ in range(200):
        port = random.randrange(20000, 32000)
        if port not in _handed_out and _bindable(port):
            _handed_out.add(port)
            return port
    raise RuntimeError("no free port below the ephemeral range")


def _bindable(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port_block(size: int = 100) -> int:
    """A base port whose next `size` ports are all free.

    Drawn below Linux's ephemeral range, so an outgoing connection cannot take
    one of them between the check and the use.
    """
    for _ in range(50):
        base = random.randrange(20000, 32000, 100)
        if all(_bindable(base + offset) for offset in range(size)):
            return base
    raise RuntimeError(f"no block of {size} free ports")


def listening(port: int) -> bool:
    """True if something accepts connections on 127.0.0.1:`port`."""
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


class NewTopicFactory(Protocol):
    """`await new_topic()` returns the name of a fresh topic."""

    async def __call__(self, prefix: str = "test", partitions: int = 3) -> str: ...


class TopicSize(Protocol):
    """`await topic_size(topic)` is how many records the topic holds (sum of end offsets)."""

    async def __call__(self, topic: str) -> int: ...


class TopicReader(Protocol):
    """`await read_topic(topic, count)` returns that many records from the topic's start."""

    async def __call__(
        self, topic: str, count: int, timeout: float = 30.0
    ) -> list[ConsumerRecord]: ...
