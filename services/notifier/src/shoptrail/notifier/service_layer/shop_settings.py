"""The shop owner's settings, and the one sender look-up every email uses."""

from __future__ import annotations

from shoptrail.notifier.domain import problems
from shoptrail.notifier.domain.addresses import InvalidSettingError, display_name, smtp_address
from shoptrail.notifier.domain.model import Sender, ShopSettings
from shoptrail.notifier.service_layer.holding import enqueue_all, release_for_a_trial
from shoptrail.notifier.service_layer.ports import (
    Clock,
    EmailQueue,
    OperatorActionError,
    TemporarySendError,
    UnitOfWork,
)


class SenderNotConfiguredError(TemporarySendError):
    """The shop owner has not set a sender name and address yet (retried: they may)."""


async def sender_identity(uow: UnitOfWork) -> Sender:
    """Who every email (confirmation, shipping, recovery) comes from, read from settings.

    Settings are checked when saved; one saved before that check existed is
    checked here, so a sender no mail server accepts holds emails at once.
    """
    sender = (await uow.settings.get()).sender()
    if sender is None:
        raise SenderNotConfiguredError("the shop's sender name and address are not set")
    try:
        return Sender(name=display_name(sender.name), address=smtp_address(sender.address))
    except InvalidSettingError as error:
        raise OperatorActionError(problems.sender_invalid(str(error))) from error


async def read_settings(*, uow: UnitOfWork) -> ShopSettings:
    """The shop owner's current settings."""
    async with uow:
        return await uow.settings.get()


async def update_settings(
    *, settings: ShopSettings, uow: UnitOfWork, clock: Clock, queue: EmailQueue
) -> int:
    """Replace the shop owner's settings (already checked); held emails try again. How many."""
    async with uow:
        await uow.settings.save(settings, now=clock.now())
        released = await release_for_a_trial(uow=uow, clock=clock)
        await uow.commit()
    await enqueue_all(released, queue=queue)
    return len(released)
