"""The parts one running ingest app works with, assembled by `bootstrap`."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from shoptrail.ingest.config import Settings
from shoptrail.ingest.metrics import IngestMetrics
from shoptrail.ingest.service_layer.ports import EventSink, StripeApi


@dataclass
class Runtime:
    """Settings, ports and metrics of one app; routes reach it through a dependency."""

    settings: Settings
    sink: EventSink
    stripe: StripeApi
    kafka_ready: Callable[[], Awaitable[bool]]
    metrics: IngestMetrics = field(default_factory=IngestMetrics)
    clock: Callable[[], float] = time.time
