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
"""Replicas on the single local broker (compose, `make dev`); on three brokers or more
(`stack.py up --brokers 3`, production) see `replication_for`."""
CLUSTER_REPLICATION_FACTOR = 3
CLUSTER_MIN_INSYNC_REPLICAS = 2
"""On a cluster a write is acknowledged (acks=all) only once two replicas hold it."""
TOPIC_CONFIG = {"cleanup.policy": "delete", "retention.ms": "-1", "retention.bytes": "-1"}
"""Kept forever: `shoptrail-activity replay` rebuilds the log from the topics' beginning."""


def replication_for(brokers: int) -> tuple[int, dict[str, str]]:
    """Replication factor and topic settings for a cluster of `brokers` (as the admin
    client's describe_cluster counts them): three, with `min.insync.replicas=2`, from
    three brokers up; below that one copy, as on the single local broker."""
    if brokers >= CLUSTER_REPLICATION_FACTOR:
        return CLUSTER_REPLICATION_FACTOR, {
            **TOPIC_CONFIG,
            "min.insync.replicas": str(CLUSTER_MIN_INSYNC_REPLICAS),
        }
    return REPLICATION_FACTOR, dict(TOPIC_CONFIG)


def dead_letter_topic(topic: str) -> str:
    """Where unreadable messages from `topic` are moved: `shoptrail.ingest.dlq`."""
    return topic + DEAD_LETTER_SUFFIX


def is_event_topic(topic: str) -> bool:
    """True for a producer's event topic, false for dead-letter and internal topics."""
    return re.fullmatch(EVENT_TOPIC_PATTERN, topic) is not None
