"""Reading every event topic from its beginning, for replay."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from shoptrail.events.kafka_access import KafkaAccess, kafka_client_options


class TopicReader:
    """All partitions of the topics matching a pattern, from offset 0 to a known end."""

    def __init__(self, kafka: KafkaAccess | str, pattern: str) -> None:
        self._consumer = AIOKafkaConsumer(
            **kafka_client_options(kafka),
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_partition_fetch_bytes=4 * 1024 * 1024,
        )
        self._pattern = re.compile(pattern)
        self._kafka = kafka
        self._end: dict[TopicPartition, int] = {}
        self.topics: list[str] = []

    async def start(self) -> None:
        """Assign every matching partition at its beginning and note where each ends now."""
        await self._consumer.start()
        self.topics = sorted(t for t in await self._consumer.topics() if self._pattern.match(t))
        partitions = await self._partitions(self.topics)
        self._consumer.assign(partitions)
        if partitions:
            await self._consumer.seek_to_beginning(*partitions)
        await self.extend_to_current_end()

    async def _partitions(self, topics: list[str]) -> list[TopicPartition]:
        if not topics:
            return []
        admin = AIOKafkaAdminClient(**kafka_client_options(self._kafka))
        await admin.start()
        try:
            described = await admin.describe_topics(topics)
        finally:
            await admin.close()
        return [
            TopicPartition(topic["topic"], partition["partition"])
            for topic in described
            for partition in topic["partitions"]
        ]

    async def extend_to_current_end(self) -> None:
        """Read on until the end as it is now (used for the final catch-up)."""
        partitions = list(self._consumer.assignment())
        self._end = dict(await self._consumer.end_offsets(partitions)) if partitions else {}

    async def remaining(self) -> int:
        total = 0
        for tp, end in self._end.items():
            total += max(end - await self._consumer.position(tp), 0)
        return total

    async def batches(self, size: int) -> AsyncIterator[list[Any]]:
        """Yield records in batches until every partition reached its end."""
        pending = {tp for tp, end in self._end.items() if await self._consumer.position(tp) < end}
        while pending:
            fetched = await self._consumer.getmany(*pending, timeout_ms=1000, max_records=size)
            batch = [record for records in fetched.values() for record in records]
            for tp in list(pending):
                if await self._consumer.position(tp) >= self._end[tp]:
                    pending.discard(tp)
            if batch:
                yield batch

    async def stop(self) -> None:
        await self._consumer.stop()
