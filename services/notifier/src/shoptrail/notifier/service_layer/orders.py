"""Order and shipping emails, recorded once per event and sent by the job queue."""

from __future__ import annotations

from shoptrail.events import Event
from shoptrail.events.fulfilment import OrderShipped
from shoptrail.events.ingest import OrderCreated
from shoptrail.events.notifier import AbandonedCartRecovered
from shoptrail.notifier.domain.model import (
    CustomerOrder,
    EmailKind,
    EmailStatus,
    OutgoingEmail,
    normalize_email,
)
from shoptrail.notifier.service_layer.emitting import notifier_event
from shoptrail.notifier.service_layer.ports import Clock, EmailQueue, UnitOfWork


def _confirmation_context(order: OrderCreated) -> dict[str, object]:
    return {
        "order_number": order.order_number,
        "total": order.total.format(),
        "items": [
            {
                "name": item.name,
                "variant": item.variant,
                "quantity": item.quantity,
                "price": item.unit_price.format(),
            }
            for item in order.line_items
        ],
        "customer_name": order.shipping_address.name if order.shipping_address else None,
    }


async def on_order_created(
    *, event: Event[OrderCreated], uow: UnitOfWork, queue: EmailQueue, clock: Clock
) -> None:
    """Owe the customer one confirmation; an order after a recovery email recovers the cart."""
    order = event.data
    email = normalize_email(order.customer_email)
    async with uow:
        await uow.orders.add(
            CustomerOrder(order.order_id, order.order_number, email, placed_at=event.time)
        )
        status = await uow.emails.add(
            OutgoingEmail(
                id=event.id,
                kind=EmailKind.ORDER_CONFIRMATION,
                recipient=email,
                order_id=order.order_id,
                context=_confirmation_context(order),
            ),
            now=clock.now(),
        )
        for cart in await uow.carts.emailed_unrecovered(email, before=event.time):
            await uow.carts.mark_recovered(cart.id, order.order_id)
            recovered = AbandonedCartRecovered(
                cart_id=cart.id, order_id=order.order_id, order_number=order.order_number
            )
            await uow.emit(notifier_event(recovered, clock=clock, caused_by=event))
        await uow.commit()
    if status is EmailStatus.PENDING:
        await queue.enqueue(event.id)


async def on_order_shipped(
    *, event: Event[OrderShipped], uow: UnitOfWork, queue: EmailQueue, clock: Clock
) -> None:
    """Owe the customer one shipping notification (recipient resolved when it is sent)."""
    shipped = event.data
    async with uow:
        status = await uow.emails.add(
            OutgoingEmail(
                id=event.id,
                kind=EmailKind.SHIPPING_NOTIFICATION,
                order_id=shipped.order_id,
                context={
                    "carrier": shipped.carrier,
                    "tracking_number": shipped.tracking_number,
                    "tracking_url": shipped.tracking_url,
                },
            ),
            now=clock.now(),
        )
        await uow.commit()
    if status is EmailStatus.PENDING:
        await queue.enqueue(event.id)
