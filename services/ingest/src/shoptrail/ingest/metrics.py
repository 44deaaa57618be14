"""Prometheus metrics of one ingest app (its own registry, so several apps can coexist)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest


class IngestMetrics:
    """What the shop's operator watches: what came in, what was refused, what reached Kafka."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.webhooks = Counter(
            "ingest_webhooks",
            "Webhooks answered, by sender and outcome (published, ignored, rejected, unavailable).",
            ["sender", "outcome"],
            registry=self.registry,
        )
        self.rejected = Counter(
            "ingest_webhooks_rejected",
            "Webhooks refused with a 4xx, by sender and reason (bad_signature, stale_signature…).",
            ["sender", "reason"],
            registry=self.registry,
        )
        self.ignored = Counter(
            "ingest_webhooks_ignored",
            "Genuine webhooks acknowledged without publishing, by sender and event type.",
            ["sender", "type"],
            registry=self.registry,
        )
        self.published = Counter(
            "ingest_events_published",
            "Events acknowledged by Kafka, by event type.",
            ["type"],
            registry=self.registry,
        )
        self.handling_seconds = Histogram(
            "ingest_webhook_handling_seconds",
            "Time from reading a webhook to answering it, by sender.",
            ["sender"],
            registry=self.registry,
        )

        self.shed = Counter(
            "ingest_webhooks_shed",
            "Webhooks answered 503 at the door, by reason (in_flight, loop_lag, deadline).",
            ["reason"],
            registry=self.registry,
        )
        self.in_flight = Gauge(
            "ingest_webhooks_in_flight", "Webhooks being handled now.", registry=self.registry
        )
        self.loop_lag = Gauge(
            "ingest_event_loop_lag_seconds",
            "How late the event loop has run throughout the last second.",
            registry=self.registry,
        )

    def exposition(self) -> bytes:
        """The Prometheus text format of every metric."""
        return generate_latest(self.registry)
