"""What a long-lived component (consumer, relay, producer, worker) says about itself.

Plain counters and a state, read by the service's `/readyz` and `/metrics`
(shoptrail.kit.health exports them), so this library needs no metrics client.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

READY_GRACE_SECONDS = 10.0
"""A component failing for longer than this reports not ready (a blip is not an outage)."""


@dataclass
class Health:
    """One component's state: working or failing since when (and why), plus counts.

    `counts` holds what happened, by name: `retried.transient`,
    `retried.unknown`, `dead_lettered`, `rebuilt`, ... Each name becomes a
    Prometheus counter `shoptrail_<name>_total{component=...}`.
    """

    component: str
    counts: Counter[str] = field(default_factory=Counter)
    failing_since: float | None = None
    last_error: str | None = None

    def count(self, what: str, n: int = 1) -> None:
        self.counts[what] += n

    def failing(self, error: str) -> None:
        """Record a failed attempt; the streak starts with the first one."""
        if self.failing_since is None:
            self.failing_since = time.monotonic()
        self.last_error = error

    def working(self) -> None:
        """Record a success: any failing streak is over."""
        if self.failing_since is not None:
            log.info(
                "recovered",
                extra={
                    "component": self.component,
                    "failed_for_s": round(time.monotonic() - self.failing_since, 1),
                },
            )
        self.failing_since = None
        self.last_error = None

    @property
    def failing_for(self) -> float:
        """Seconds since the current failing streak began (0 when working)."""
        return 0.0 if self.failing_since is None else time.monotonic() - self.failing_since

    @property
    def ready(self) -> bool:
        return self.failing_for <= READY_GRACE_SECONDS

    def report(self) -> dict[str, object]:
        """For `/readyz`: state, and the last error while failing."""
        state: dict[str, object] = {"ready": self.ready}
        if self.failing_since is not None:
            state["failing_for_s"] = round(self.failing_for, 1)
            state["last_error"] = self.last_error
        return state
