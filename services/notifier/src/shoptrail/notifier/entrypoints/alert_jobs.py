"""The alert dispatch job: one at a time (a lock), one waiting at most (a queueing lock).

The job runs `alerting.dispatch` and defers itself for when that says it wants
to run again (the next digest, the end of quiet hours, activity catching up).
A minute tick on the worker wakes it too, in case a deferral was lost.
"""

from __future__ import annotations

import contextlib
import logging
import math
from typing import TYPE_CHECKING

import procrastinate
from procrastinate.exceptions import AlreadyEnqueued

from shoptrail.notifier.service_layer import alerting

if TYPE_CHECKING:
    from shoptrail.notifier.bootstrap import Notifier

log = logging.getLogger(__name__)

DISPATCH_ALERTS = "notifier.dispatch_alerts"
ALERT_TICK = "notifier.alert_tick"


async def wake_dispatch(app: procrastinate.App, *, in_s: float = 0.0) -> None:
    """Ask for a dispatch (now, or in `in_s` seconds); a no-op when one already waits.

    A delay rather than a moment: the database's clock decides when a job is
    due, the notifier's clock decides what is due.
    """
    deferrer = app.configure_task(
        DISPATCH_ALERTS,
        lock=DISPATCH_ALERTS,
        queueing_lock=DISPATCH_ALERTS,
        schedule_in={"seconds": max(0, math.ceil(in_s))} if in_s > 0 else None,
    )
    with contextlib.suppress(AlreadyEnqueued):
        await deferrer.defer_async()


def register_alert_tasks(notifier: Notifier, *, periodic: bool = True) -> None:
    app = notifier.jobs

    @app.task(name=DISPATCH_ALERTS)
    async def dispatch_alerts() -> None:
        again = await alerting.dispatch(alerting=notifier.alerting)
        if again is not None:
            delay = (again - notifier.alerting.clock.now()).total_seconds()
            await wake_dispatch(app, in_s=delay)

    async def alert_tick(timestamp: int) -> None:
        await wake_dispatch(app)

    tick = app.task(name=ALERT_TICK, queueing_lock=ALERT_TICK)(alert_tick)
    if periodic:
        app.periodic(cron="* * * * *")(tick)
