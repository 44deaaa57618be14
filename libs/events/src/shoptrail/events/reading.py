"""Reading topics as they stand now: every record from the beginning to today's end.

For tools and tests that look at what is on the bus (the dead-letter tool, the
end-to-end suite), not for services, which consume in groups.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from shoptrail.events.kafka_access import KafkaAccess, kafka_client_options


def reader(kafka: KafkaAccess | str) -> AIOKafkaConsumer:
    """A group-less consumer whose partitions start at their beginning.

    `auto_offset_reset="earliest"` matters even though callers seek: on `assign`
    the fetcher starts resetting each partition's position by that policy in
    the background, and on a busy machine that reset can land after a seek.
    With aiokafka's default ("latest") it moved the reader to the end, and the
    dead-letter tool waited for records it had skipped until its timeout.
    """
    return AIOKafkaConsumer(
        **kafka_client_options(kafka),
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )


async def records_to_end(kafka: KafkaAccess | str, topics: Sequence[str]) -> list[Any]:
    """Every record on `topics` up to their end offsets at the time of asking.

    Sorted by topic, partition and offset. A topic that does not exist yields
    nothing.
    """
    consumer = reader(kafka)
    try:
        await consumer.start()  # in the try: a failed start still closes the client
        await consumer._client.force_metadata_update()
        assigned = [
            TopicPartition(topic, p)
            for topic in topics
            for p in sorted(consumer.partitions_for_topic(topic) or ())
        ]
        if not assigned:
            return []
        consumer.assign(assigned)
        ends = await consumer.end_offsets(assigned)
        await consumer.seek_to_beginning(*assigned)
        records: list[Any] = []
        remaining = {tp for tp in assigned if ends[tp] > 0}
        while remaining:
            batch = await consumer.getmany(*remaining, timeout_ms=1000)
            if not batch:
                # Nothing fetched in a second: a freshly created topic's leader may not have
                # been known when we asked. Ask again rather than wait on stale metadata.
                await consumer._client.force_metadata_update()
            for tp, fetched in batch.items():
                records.extend(r for r in fetched if r.offset < ends[tp])
                # Only a partition that returned records: a fetch may have moved the position
                # on while its records still wait in the buffer for the next getmany.
                if await consumer.position(tp) >= ends[tp]:
                    remaining.discard(tp)
        return sorted(records, key=lambda r: (r.topic, r.partition, r.offset))
    finally:
        await consumer.stop()
