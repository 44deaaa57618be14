"""The suppression list: addresses that get no recovery emails (order emails still go)."""

from __future__ import annotations

from shoptrail.events import Event
from shoptrail.events.ingest import EmailBounced
from shoptrail.notifier.domain.model import normalize_email
from shoptrail.notifier.domain.tokens import UnsubscribeTokens
from shoptrail.notifier.service_layer.ports import Clock, UnitOfWork


class InvalidTokenError(Exception):
    """An unsubscribe token that was not issued by us (forged, altered or garbled)."""


def check_token(token: str, *, tokens: UnsubscribeTokens) -> str:
    """The address a genuine token names (nothing is changed)."""
    email = tokens.verify(token)
    if email is None:
        raise InvalidTokenError
    return email


async def unsubscribe(
    *, token: str, tokens: UnsubscribeTokens, uow: UnitOfWork, clock: Clock
) -> None:
    """Suppress the token's address from recovery emails; doing it again is harmless."""
    email = check_token(token, tokens=tokens)
    async with uow:
        await uow.suppressions.add(email, "unsubscribed", now=clock.now())
        await uow.commit()


async def on_email_bounced(*, event: Event[EmailBounced], uow: UnitOfWork, clock: Clock) -> None:
    """A hard bounce reported by the email provider suppresses the address."""
    if not event.data.permanent:
        return
    async with uow:
        await uow.suppressions.add(
            normalize_email(event.data.recipient), "bounced", now=clock.now()
        )
        await uow.commit()
