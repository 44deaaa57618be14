"""The nightly prune, run inside the service."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from shoptrail.activity.adapters.pruning import prune

log = logging.getLogger(__name__)


def seconds_until(hour_utc: int, now: datetime) -> float:
    """Seconds from `now` to the next `hour_utc`:00 UTC."""
    target = now.replace(hour=hour_utc, minute=0, second=0, microsecond=0)
    if target <= now:
        target += timedelta(days=1)
    return (target - now).total_seconds()


async def prune_nightly(engine: AsyncEngine, *, hour_utc: int, retention_days: int) -> None:
    """Prune once a day at `hour_utc`, forever; a failed run is logged and retried tomorrow."""
    while True:
        await asyncio.sleep(seconds_until(hour_utc, datetime.now(UTC)))
        try:
            deleted = await prune(
                engine, retention=timedelta(days=retention_days), now=datetime.now(UTC)
            )
            log.info("pruned the activity log", extra={"deleted": deleted})
        except Exception:
            log.exception("pruning the activity log failed; will try again tomorrow")
