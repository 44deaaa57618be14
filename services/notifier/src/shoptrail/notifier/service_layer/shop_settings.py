"""The shop owner's settings, and the one sender look-up every email uses."""

from __future__ import annotations

from shoptrail.notifier.domain.model import Sender, ShopSettings
from shoptrail.notifier.service_layer.ports import Clock, TemporarySendError, UnitOfWork


class SenderNotConfiguredError(TemporarySendError):
    """The shop owner has not set a sender name and address yet (retried: they may)."""


async def sender_identity(uow: UnitOfWork) -> Sender:
    """Who every email (confirmation, shipping, recovery) comes from, read from settings."""
    sender = (await uow.settings.get()).sender()
    if sender is None:
        raise SenderNotConfiguredError("the shop's sender name and address are not set")
    return sender


async def read_settings(*, uow: UnitOfWork) -> ShopSettings:
    """The shop owner's current settings."""
    async with uow:
        return await uow.settings.get()


async def update_settings(*, settings: ShopSettings, uow: UnitOfWork, clock: Clock) -> ShopSettings:
    """Replace the shop owner's settings."""
    async with uow:
        await uow.settings.save(settings, now=clock.now())
        await uow.commit()
    return settings
