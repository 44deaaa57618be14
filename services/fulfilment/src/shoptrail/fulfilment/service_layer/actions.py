"""What the shop owner can ask for: retry an order's submission, run a product sync."""

from __future__ import annotations

from shoptrail.fulfilment.domain.model import AT_PROVIDER, OrderStatus, ProviderName
from shoptrail.fulfilment.service_layer.ports import AlreadyQueuedError, UnitOfWork


class OrderNotFoundError(Exception):
    """No such order."""


class ActionRefusedError(Exception):
    """The action makes no sense for the order as it stands; the message says why."""


async def request_submission_retry(*, order_id: str, uow: UnitOfWork, extra_attempts: int) -> int:
    """Queue a new round of submission attempts for an order that gave up; the job id.

    Serialised on the order's row, so concurrent requests queue one job: the
    others get `AlreadyQueuedError` naming it.
    """
    async with uow:
        order = await uow.orders.get(order_id, for_update=True)
        if order is None:
            raise OrderNotFoundError(order_id)
        if order.status in AT_PROVIDER or order.status is OrderStatus.DELIVERED:
            raise ActionRefusedError(
                f"order {order_id} is already submitted to {order.provider} "
                f"({order.provider_order_id})"
            )
        if order.status is OrderStatus.REFUNDED:
            raise ActionRefusedError(f"order {order_id} was refunded; it will not be submitted")
        if order.status is OrderStatus.CANCELLED:
            raise ActionRefusedError(f"order {order_id} was cancelled")
        if (active := await uow.jobs.active_submission(order_id)) is not None:
            raise AlreadyQueuedError(active)
        if order.status is OrderStatus.FAILED:
            await uow.orders.allow_retry(order_id, extra_attempts)
        job_id = await uow.jobs.enqueue_submission(order_id)
        await uow.commit()
    return job_id


async def request_sync(*, provider: ProviderName, uow: UnitOfWork) -> int:
    """Queue a product sync with `provider`; `AlreadyQueuedError` if one waits or runs."""
    async with uow:
        job_id = await uow.jobs.enqueue_sync(provider)
        await uow.commit()
    return job_id
