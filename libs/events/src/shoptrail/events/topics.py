"""Kafka topic names. One topic per producing service; dead letters beside each."""

from __future__ import annotations

import re

INGEST = "shoptrail.ingest"
FULFILMENT = "shoptrail.fulfilment"
NOTIFIER = "shoptrail.notifier"
ACTIVITY = "shoptrail.activity"

EVENT_TOPICS = (INGEST, FULFILMENT, NOTIFIER, ACTIVITY)

EVENT_TOPIC_PATTERN = r"^shoptrail\.[a-z][a-z0-9_-]*$"
"""Every producer's event topic, and nothing else (dead-letter topics do not match).

Consumers that want "every event" subscribe by this pattern, so a new
producer's topic is picked up without a code change.
"""

DEAD_LETTER_SUFFIX = ".dlq"

PARTITIONS = 3
"""Partitions of every event and dead-letter topic as `make dev` creates them
(compose: `SHOPTRAIL_PARTITIONS`, default the same; production: 6–12, deploy/README.md)."""
REPLICATION_FACTOR = 1
"""Replicas on the single local broker; production: 3 with `min.insync.replicas=2`."""
TOPIC_CONFIG = {"cleanup.policy": "delete", "retention.ms": "-1", "retention.bytes": "-1"}
"""Kept forever: `shoptrail-activity replay` rebuilds the log from the topics' beginning."""


def dead_letter_topic(topic: str) -> str:
    """Where unreadable messages from `topic` are moved: `shoptrail.ingest.dlq`."""
    return topic + DEAD_LETTER_SUFFIX


def is_event_topic(topic: str) -> bool:
    """True for a producer's event topic, false for dead-letter and internal topics."""
    return re.fullmatch(EVENT_TOPIC_PATTERN, topic) is not None
