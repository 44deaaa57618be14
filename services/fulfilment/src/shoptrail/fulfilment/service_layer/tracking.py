"""Following an order at its provider: status reports from webhooks and from our own polls."""

from __future__ import annotations

import logging

from shoptrail.events import EventData
from shoptrail.events.fulfilment import (
    OrderCancelled,
    OrderDelivered,
    OrderInProduction,
    OrderShipped,
)
from shoptrail.fulfilment.domain.model import (
    Order,
    OrderStatus,
    ProviderName,
    StatusReport,
    changes_from,
)
from shoptrail.fulfilment.service_layer.ports import ProviderError, Providers, UnitOfWork
from shoptrail.fulfilment.service_layer.problems import clear_problems, note_problem

log = logging.getLogger(__name__)


async def apply_status_report(*, report: StatusReport, uow: UnitOfWork) -> bool:
    """Record the reported status and emit its event, only if it is a real change."""
    async with uow:
        order = await _find(report, uow)
        if order is None:
            log.info(
                "status report for an order we do not know",
                extra={"provider": report.provider, "provider_order_id": report.provider_order_id},
            )
            return False
        changed = await uow.orders.advance(
            order.order_id,
            report.status,
            allowed_from=changes_from(report.status),
            tracking=report.tracking if report.status is OrderStatus.SHIPPED else None,
        )
        if changed:
            await uow.emit(
                _event_for(order, report),
                time=report.reported_at,
                correlation_id=order.correlation_id,
            )
        await uow.commit()
    return changed


async def poll_orders_at_provider(
    *, uow: UnitOfWork, providers: Providers, limit: int = 500
) -> int:
    """Ask the providers about every in-flight order (the fallback for lost webhooks).

    A provider refusing us for a reason only the operator can fix (a refused
    token) is said once and not asked again this round; its orders wait for
    the next poll.
    """
    async with uow:
        orders = await uow.orders.at_provider(limit)
    changes = 0
    answered: set[ProviderName] = set()
    refused: set[ProviderName] = set()
    for order in orders:
        assert order.provider_order_id is not None
        if order.provider in refused:
            continue
        try:
            seen = await providers[order.provider].get_order(order.provider_order_id)
        except ProviderError as exc:
            if exc.problem is not None:
                refused.add(order.provider)
                async with uow:
                    await note_problem(exc.problem, uow)
                    await uow.commit()
                continue
            log.warning(
                "could not poll an order's status",
                extra={"order_id": order.order_id, "reason": exc.reason},
            )
            continue
        answered.add(order.provider)
        if seen.status is None:
            continue
        report = StatusReport(
            provider=order.provider,
            provider_order_id=order.provider_order_id,
            status=seen.status,
            tracking=seen.tracking,
            order_id=order.order_id,
        )
        changes += await apply_status_report(report=report, uow=uow)
    for provider in sorted(answered - refused):
        async with uow:
            await clear_problems(provider, frozenset({"orders.read"}), uow)
            await uow.commit()
    return changes


async def _find(report: StatusReport, uow: UnitOfWork) -> Order | None:
    if report.order_id is not None:
        return await uow.orders.get(report.order_id)
    return await uow.orders.find_by_provider_order(report.provider, report.provider_order_id)


def _event_for(order: Order, report: StatusReport) -> EventData:
    provider = order.provider
    match report.status:
        case OrderStatus.IN_PRODUCTION:
            return OrderInProduction(order_id=order.order_id, provider=provider)
        case OrderStatus.SHIPPED:
            return OrderShipped(
                order_id=order.order_id,
                provider=provider,
                carrier=report.tracking.carrier or "an unnamed carrier",
                tracking_number=report.tracking.number,
                tracking_url=report.tracking.url,
            )
        case OrderStatus.DELIVERED:
            return OrderDelivered(order_id=order.order_id, provider=provider)
        case OrderStatus.CANCELLED:
            return OrderCancelled(
                order_id=order.order_id, provider=provider, reason=f"cancelled at {provider}"
            )
    raise ValueError(f"{report.status} is not a status providers report")
