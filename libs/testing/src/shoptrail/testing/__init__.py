"""Types of the shared test fixtures (defined in the repository's root `conftest.py`).

Tests annotate fixtures with these instead of importing `conftest`, which is
ambiguous as soon as a service has a conftest of its own.
"""

from __future__ import annotations

from typing import Protocol

from aiokafka import ConsumerRecord


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
