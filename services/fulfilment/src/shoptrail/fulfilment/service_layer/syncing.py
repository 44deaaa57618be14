"""Product sync: list the provider's products and keep our copy the same."""

from __future__ import annotations

from shoptrail.events.fulfilment import SyncCompleted, SyncFailed, SyncStarted
from shoptrail.fulfilment.domain.model import SyncCounts
from shoptrail.fulfilment.service_layer.ports import Provider, ProviderError, UnitOfWork
from shoptrail.fulfilment.service_layer.problems import clear_problems, note_problem
from shoptrail.fulfilment.service_layer.submission import (
    ReportedFailureError,
    WaitingForOperatorError,
)


async def sync_products(
    *, sync_id: str, provider: Provider, uow: UnitOfWork, resumed: bool = False
) -> SyncCounts:
    """Upsert every product the provider lists and drop the ones it no longer has.

    An operator problem (a refused token) is said once, not as a failed sync:
    the sync waits (`WaitingForOperatorError`) and, `resumed` later, finishes
    the sync it already announced.
    """
    if not resumed:
        async with uow:
            await uow.emit(SyncStarted(sync_id=sync_id, provider=provider.name))
            await uow.commit()
    try:
        products = await provider.list_products()
    except ProviderError as exc:
        async with uow:
            if exc.problem is not None:
                await note_problem(exc.problem, uow)
            else:
                await uow.emit(
                    SyncFailed(sync_id=sync_id, provider=provider.name, reason=exc.reason)
                )
            await uow.commit()
        if exc.problem is not None:
            raise WaitingForOperatorError(exc.problem) from exc
        raise ReportedFailureError(exc.reason) from exc
    async with uow:
        counts = await uow.products.replace_all(provider.name, products)
        await uow.emit(
            SyncCompleted(
                sync_id=sync_id,
                provider=provider.name,
                total=counts.total,
                created=counts.created,
                updated=counts.updated,
                removed=counts.removed,
            )
        )
        await clear_problems(provider.name, frozenset({"products.read"}), uow)
        await uow.commit()
    return counts
