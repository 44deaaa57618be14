"""Abandoned-cart recovery: record the cart, send its single email when due, forget it later."""

from __future__ import annotations

from datetime import timedelta

from shoptrail.events import Event, uuid7
from shoptrail.events.ingest import CheckoutExpired
from shoptrail.events.money import Money
from shoptrail.events.notifier import AbandonedCartCreated
from shoptrail.notifier.domain import recovery
from shoptrail.notifier.domain.model import (
    AbandonedCart,
    EmailKind,
    OutgoingEmail,
    normalize_email,
)
from shoptrail.notifier.service_layer.emitting import notifier_event
from shoptrail.notifier.service_layer.ports import Clock, EmailQueue, UnitOfWork


async def on_checkout_expired(
    *, event: Event[CheckoutExpired], uow: UnitOfWork, clock: Clock, delay: timedelta
) -> AbandonedCart | None:
    """Record an abandoned cart, if the customer entered an email and recovery is on."""
    expired = event.data
    if not expired.customer_email:
        return None
    email = normalize_email(expired.customer_email)
    async with uow:
        if not (await uow.settings.get()).recovery_enabled:
            return None
        if await uow.suppressions.contains(email):
            return None  # nothing to remember about someone we will not write to
        cart = AbandonedCart(
            id=f"cart_{uuid7(event.time).hex}",
            checkout_session_id=expired.checkout_session_id,
            email=email,
            total=expired.total or Money(amount=0, currency="GBP"),
            line_items=expired.line_items,
            abandoned_at=event.time,
            due_at=recovery.recovery_due_at(event.time, delay),
        )
        if not await uow.carts.add(cart, now=clock.now()):
            return None  # the same expiry again
        created = AbandonedCartCreated(
            cart_id=cart.id,
            customer_email=email,
            total=cart.total,
            line_items=cart.line_items,
            checkout_session_id=cart.checkout_session_id,
        )
        await uow.emit(notifier_event(created, clock=clock, caused_by=event))
        await uow.commit()
    return cart


def _recovery_context(cart: AbandonedCart) -> dict[str, object]:
    return {
        "total": cart.total.format(),
        "items": [
            {
                "name": item.name,
                "variant": item.variant,
                "quantity": item.quantity,
                "product_url": item.product_url,
            }
            for item in cart.line_items
        ],
    }


async def send_due_recovery_emails(
    *, uow: UnitOfWork, queue: EmailQueue, clock: Clock, limit: int = 100
) -> int:
    """Check each due cart again and owe it its one email, or close it with the reason."""
    now = clock.now()
    owed = []
    async with uow:
        enabled = (await uow.settings.get()).recovery_enabled
        for cart in await uow.carts.due(now=now, limit=limit):
            reason = recovery.skip_reason(
                recovery_enabled=enabled,
                suppressed=await uow.suppressions.contains(cart.email),
                paid_since=await uow.orders.paid_since(
                    cart.email, recovery.paid_orders_count_since(cart.abandoned_at)
                ),
                due_at=cart.due_at,
                now=now,
            )
            if reason is not None:
                await uow.carts.close(cart.id, reason.value, now=now)
                continue
            email_id = uuid7(now)
            await uow.carts.mark_emailed(cart.id, email_id=email_id, now=now)
            await uow.emails.add(
                OutgoingEmail(
                    id=email_id,
                    kind=EmailKind.CART_RECOVERY,
                    recipient=cart.email,
                    cart_id=cart.id,
                    context=_recovery_context(cart),
                ),
                now=now,
            )
            owed.append(email_id)
        await uow.commit()
    for email_id in owed:
        await queue.enqueue(email_id)
    return len(owed)


async def prune_abandoned_carts(*, uow: UnitOfWork, clock: Clock, retention: timedelta) -> int:
    """Forget carts (and their recovery emails) recorded longer ago than `retention`."""
    cutoff = clock.now() - retention
    async with uow:
        pruned = await uow.carts.prune(created_before=cutoff)
        await uow.emails.prune(kind=EmailKind.CART_RECOVERY.value, created_before=cutoff)
        await uow.commit()
    return pruned
