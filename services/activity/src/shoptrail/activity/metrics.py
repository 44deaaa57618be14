"""Prometheus metrics of the activity service (one registry per app instance)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class Metrics:
    """Consumed, inserted, duplicates, dead-lettered, consumer lag and query latency."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.consumed = Counter(
            "activity_consumed", "Messages read from Kafka", registry=self.registry
        )
        self.inserted = Counter(
            "activity_inserted", "New entries written to the log", registry=self.registry
        )
        self.duplicates = Counter(
            "activity_duplicates", "Messages already in the log", registry=self.registry
        )
        self.dead_lettered = Counter(
            "activity_dead_lettered", "Unreadable messages moved aside", registry=self.registry
        )
        self.lag = Gauge(
            "activity_consumer_lag",
            "Messages not yet consumed",
            ["topic", "partition"],
            registry=self.registry,
        )
        self.query_seconds = Histogram(
            "activity_query_seconds",
            "Time to answer an API query",
            ["query"],
            registry=self.registry,
            buckets=(0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0),
        )
