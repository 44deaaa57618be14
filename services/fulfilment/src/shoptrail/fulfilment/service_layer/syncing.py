"""Product sync: list the provider's products and keep our copy the same."""

from __future__ import annotations

from shoptrail.events.fulfilment import SyncCompleted, SyncFailed, SyncStarted
from shoptrail.fulfilment.domain.model import SyncCounts
from shoptrail.fulfilment.service_layer.ports import Provider, ProviderError, UnitOfWork
from shoptrail.fulfilment.service_layer.submission import ReportedFailureError


async def sync_products(*, sync_id: str, provider: Provider, uow: UnitOfWork) -> SyncCounts:
    """Upsert every product the provider lists and drop the ones it no longer has."""
    async with uow:
        await uow.emit(SyncStarted(sync_id=sync_id, provider=provider.name))
        await uow.commit()
    try:
        products = await provider.list_products()
    except ProviderError as exc:
        async with uow:
            await uow.emit(SyncFailed(sync_id=sync_id, provider=provider.name, reason=exc.reason))
            await uow.commit()
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
        await uow.commit()
    return counts
