"""The feed's actions. The entry is re-read first, so a row only does what it offers."""

from __future__ import annotations

from shoptrail.admin_ui.domain.presentation import actions_for
from shoptrail.admin_ui.service_layer.ports import (
    ActionOutcome,
    ActivityPort,
    FulfilmentPort,
)


async def retry_submission(
    entry_id: int, *, activity: ActivityPort, fulfilment: FulfilmentPort
) -> ActionOutcome:
    """Ask fulfilment to submit the failed entry's order again."""
    entry = await activity.entry(entry_id)
    if not actions_for(entry).retry_submission or entry.order_id is None:
        return ActionOutcome("refused", "this entry has no submission to retry")
    return await fulfilment.retry_submission(entry.order_id)


async def retry_sync(
    entry_id: int, *, activity: ActivityPort, fulfilment: FulfilmentPort
) -> ActionOutcome:
    """Ask fulfilment to run the failed entry's product sync again."""
    entry = await activity.entry(entry_id)
    provider = actions_for(entry).retry_sync_provider
    if provider is None:
        return ActionOutcome("refused", "this entry has no sync to retry")
    return await fulfilment.retry_sync(provider)
