"""PostgreSQL repositories: orders (conditional status changes) and products (upserts)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from sqlalchemy import Row, delete, func, literal_column, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from shoptrail.fulfilment.adapters.tables import orders, products
from shoptrail.fulfilment.domain.model import (
    AT_PROVIDER,
    AWAITING_SUBMISSION,
    NOT_YET_SUBMITTED,
    Order,
    OrderStatus,
    Product,
    ProviderName,
    SyncCounts,
    Tracking,
)
from shoptrail.fulfilment.domain.problems import OperatorProblem
from shoptrail.fulfilment.service_layer.ports import OrderRepository, ProductRepository


def _order(row: Row[Any]) -> Order:
    return Order(
        order_id=row.order_id,
        order_number=row.order_number,
        provider=row.provider,
        status=OrderStatus(row.status),
        details=row.details,
        attempts=row.attempts,
        attempt_limit=row.attempt_limit,
        manual_retry=row.manual_retry,
        last_error=row.last_error,
        provider_order_id=row.provider_order_id,
        correlation_id=row.correlation_id,
        waiting_for=row.waiting_for,
    )


class SqlOrderRepository(OrderRepository):
    """Orders in `fulfilment_orders`; every status change is one conditional UPDATE."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, order: Order) -> bool:
        statement = (
            insert(orders)
            .values(
                order_id=order.order_id,
                order_number=order.order_number,
                provider=order.provider,
                status=order.status.value,
                details=order.details,
                attempt_limit=order.attempt_limit,
                correlation_id=order.correlation_id,
            )
            .on_conflict_do_nothing(index_elements=["order_id"])
            .returning(orders.c.order_id)
        )
        return (await self._session.scalar(statement)) is not None

    async def get(self, order_id: str, *, for_update: bool = False) -> Order | None:
        query = select(orders).where(orders.c.order_id == order_id)
        row = (
            await self._session.execute(query.with_for_update() if for_update else query)
        ).first()
        return _order(row) if row else None

    async def find_by_provider_order(
        self, provider: ProviderName, provider_order_id: str
    ) -> Order | None:
        query = select(orders).where(
            orders.c.provider == provider, orders.c.provider_order_id == provider_order_id
        )
        row = (await self._session.execute(query)).first()
        return _order(row) if row else None

    async def start_attempt(self, order_id: str) -> Order | None:
        current = await self.get(order_id, for_update=True)
        if (
            current is None
            or current.status not in AWAITING_SUBMISSION
            or current.attempts >= current.attempt_limit
        ):
            return None
        row = await self._change(
            order_id,
            allowed_from=AWAITING_SUBMISSION,
            status=OrderStatus.SUBMITTING.value,
            attempts=orders.c.attempts + 1,
            manual_retry=False,
            waiting_for=None,
        )
        assert row is not None, "the row is locked and was checked above"
        # This attempt is the manual one if a retry request set the flag it now clears,
        # and resumes a wait for the operator if the order was waiting.
        return replace(
            _order(row), manual_retry=current.manual_retry, waiting_for=current.waiting_for
        )

    async def record_failure(self, order_id: str, reason: str, *, gave_up: bool) -> None:
        values: dict[str, Any] = {"last_error": reason}
        if gave_up:
            values["status"] = OrderStatus.FAILED.value
        await self._change(order_id, allowed_from=AWAITING_SUBMISSION, **values)

    async def hold_for_operator(self, order_id: str, problem: OperatorProblem) -> bool:
        row = await self._change(
            order_id,
            allowed_from={OrderStatus.SUBMITTING},
            status=OrderStatus.RECEIVED.value,
            attempts=orders.c.attempts - 1,
            waiting_for=problem.key,
            last_error=problem.summary,
        )
        return row is not None

    async def mark_submitted(self, order_id: str, provider_order_id: str) -> bool:
        row = await self._change(
            order_id,
            allowed_from=NOT_YET_SUBMITTED,
            status=OrderStatus.SUBMITTED.value,
            provider_order_id=provider_order_id,
            last_error=None,
        )
        return row is not None

    async def mark_refunded(self, order_id: str) -> bool:
        row = await self._change(
            order_id, allowed_from=NOT_YET_SUBMITTED, status=OrderStatus.REFUNDED.value
        )
        return row is not None

    async def allow_retry(self, order_id: str, extra_attempts: int) -> Order:
        row = await self._change(
            order_id,
            allowed_from={OrderStatus.FAILED},
            status=OrderStatus.RECEIVED.value,
            attempt_limit=orders.c.attempts + extra_attempts,
            manual_retry=True,
        )
        if row is None:
            raise LookupError(f"order {order_id} is not failed")
        return _order(row)

    async def advance(
        self,
        order_id: str,
        new: OrderStatus,
        *,
        allowed_from: Iterable[OrderStatus],
        tracking: Tracking | None = None,
    ) -> bool:
        values: dict[str, Any] = {"status": new.value}
        if tracking is not None:
            values |= {
                "carrier": tracking.carrier,
                "tracking_number": tracking.number,
                "tracking_url": tracking.url,
            }
        return (await self._change(order_id, allowed_from=allowed_from, **values)) is not None

    async def at_provider(self, limit: int) -> list[Order]:
        chosen = (
            select(orders.c.order_id)
            .where(
                orders.c.status.in_([s.value for s in AT_PROVIDER]),
                orders.c.provider_order_id.is_not(None),
            )
            .order_by(orders.c.polled_at.asc().nulls_first())
            .limit(limit)
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
        statement = (
            update(orders)
            .where(orders.c.order_id.in_(chosen))
            .values(polled_at=func.now())
            .returning(*orders.c)
        )
        return [_order(row) for row in (await self._session.execute(statement)).all()]

    async def _change(
        self,
        order_id: str,
        *,
        allowed_from: Iterable[OrderStatus],
        extra: Any = True,
        **values: Any,
    ) -> Row[Any] | None:
        """UPDATE … WHERE status IN allowed_from; the new row, or None if nothing changed.

        Under concurrency the second writer waits for the first, re-reads the
        row and no longer matches: a change happens, and is announced, once.
        """
        statement = (
            update(orders)
            .where(
                orders.c.order_id == order_id,
                orders.c.status.in_([s.value for s in allowed_from]),
                extra,
            )
            .values(updated_at=func.now(), **values)
            .returning(*orders.c)
        )
        return (await self._session.execute(statement)).first()


class SqlProductRepository(ProductRepository):
    """Products in `fulfilment_products`, keyed by provider and product id."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def replace_all(self, provider: ProviderName, items: list[Product]) -> SyncCounts:
        created = updated = 0
        for product in items:
            new = insert(products).values(
                provider=provider,
                product_id=product.product_id,
                title=product.title,
                data=product.data,
                fingerprint=product.fingerprint,
            )
            statement: Any = new.on_conflict_do_update(
                index_elements=["provider", "product_id"],
                set_={
                    "title": new.excluded.title,
                    "data": new.excluded.data,
                    "fingerprint": new.excluded.fingerprint,
                    "synced_at": func.now(),
                },
                # An unchanged product is not touched, so it is neither created nor updated.
                where=products.c.fingerprint != new.excluded.fingerprint,
            ).returning(literal_column("xmax = 0").label("inserted"))  # xmax 0: a new row
            inserted = (await self._session.execute(statement)).scalar()
            if inserted is True:
                created += 1
            elif inserted is False:
                updated += 1
        result = await self._session.execute(
            delete(products).where(
                products.c.provider == provider,
                products.c.product_id.not_in([p.product_id for p in items]),
            )
        )
        removed = getattr(result, "rowcount", 0)
        return SyncCounts(total=len(items), created=created, updated=updated, removed=removed)
