"""In-memory adapters that subclass the ports: use-case tests without I/O."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime
from types import TracebackType
from typing import Self

from shoptrail.events import EventData
from shoptrail.fulfilment.domain.model import (
    AT_PROVIDER,
    AWAITING_SUBMISSION,
    NOT_YET_SUBMITTED,
    Order,
    OrderStatus,
    Product,
    ProviderName,
    ProviderOrder,
    SyncCounts,
    Tracking,
)
from shoptrail.fulfilment.domain.problems import OperatorProblem, Scope
from shoptrail.fulfilment.service_layer.ports import (
    AlreadyQueuedError,
    JobQueue,
    OrderRepository,
    ProblemRepository,
    ProductRepository,
    Provider,
    ProviderError,
    UnitOfWork,
)


class MemoryOrders(OrderRepository):
    def __init__(self) -> None:
        self.rows: dict[str, Order] = {}

    async def add(self, order: Order) -> bool:
        return self.rows.setdefault(order.order_id, order) is order

    async def get(self, order_id: str, *, for_update: bool = False) -> Order | None:
        return self.rows.get(order_id)

    async def find_by_provider_order(
        self, provider: ProviderName, provider_order_id: str
    ) -> Order | None:
        return next(
            (
                o
                for o in self.rows.values()
                if (o.provider, o.provider_order_id) == (provider, provider_order_id)
            ),
            None,
        )

    async def start_attempt(self, order_id: str) -> Order | None:
        order = self.rows[order_id]
        if order.status not in AWAITING_SUBMISSION or order.attempts >= order.attempt_limit:
            return None
        # What it answers still carries the flags this attempt clears, like the SQL one.
        started = replace(order, status=OrderStatus.SUBMITTING, attempts=order.attempts + 1)
        self.rows[order_id] = replace(started, manual_retry=False, waiting_for=None)
        return started

    async def record_failure(self, order_id: str, reason: str, *, gave_up: bool) -> None:
        order = self.rows[order_id]
        status = OrderStatus.FAILED if gave_up else order.status
        self.rows[order_id] = replace(order, last_error=reason, status=status)

    async def hold_for_operator(self, order_id: str, problem: OperatorProblem) -> bool:
        order = self.rows.get(order_id)
        if order is None or order.status is not OrderStatus.SUBMITTING:
            return False
        self.rows[order_id] = replace(
            order,
            status=OrderStatus.RECEIVED,
            attempts=order.attempts - 1,
            waiting_for=problem.key,
            last_error=problem.summary,
        )
        return True

    async def mark_submitted(self, order_id: str, provider_order_id: str) -> bool:
        return self._move(
            order_id,
            NOT_YET_SUBMITTED,
            status=OrderStatus.SUBMITTED,
            provider_order_id=provider_order_id,
        )

    async def mark_refunded(self, order_id: str) -> bool:
        return self._move(order_id, NOT_YET_SUBMITTED, status=OrderStatus.REFUNDED)

    async def allow_retry(self, order_id: str, extra_attempts: int) -> Order:
        order = self.rows[order_id]
        self.rows[order_id] = replace(
            order,
            status=OrderStatus.RECEIVED,
            manual_retry=True,
            attempt_limit=order.attempts + extra_attempts,
        )
        return self.rows[order_id]

    async def advance(
        self,
        order_id: str,
        new: OrderStatus,
        *,
        allowed_from: Iterable[OrderStatus],
        tracking: Tracking | None = None,
    ) -> bool:
        return self._move(order_id, frozenset(allowed_from), status=new)

    async def at_provider(self, limit: int) -> list[Order]:
        return [o for o in self.rows.values() if o.status in AT_PROVIDER][:limit]

    def _move(self, order_id: str, allowed: frozenset[OrderStatus], **changes: object) -> bool:
        order = self.rows.get(order_id)
        if order is None or order.status not in allowed:
            return False
        self.rows[order_id] = replace(order, **changes)  # type: ignore[arg-type]
        return True


class MemoryProducts(ProductRepository):
    async def replace_all(self, provider: ProviderName, products: list[Product]) -> SyncCounts:
        return SyncCounts(total=len(products), created=len(products), updated=0, removed=0)


class MemoryProblems(ProblemRepository):
    def __init__(self) -> None:
        self.open_problems: dict[str, OperatorProblem] = {}

    async def open(self, problem: OperatorProblem) -> bool:
        new = problem.key not in self.open_problems
        self.open_problems[problem.key] = problem
        return new

    async def clear(
        self, provider: ProviderName, scopes: frozenset[Scope]
    ) -> list[OperatorProblem]:
        gone = [p for p in self.open_problems.values() if p.cleared_by(provider, scopes)]
        for problem in gone:
            del self.open_problems[problem.key]
        return sorted(gone, key=lambda p: p.key)


class MemoryJobs(JobQueue):
    def __init__(self) -> None:
        self.queued: dict[str, int] = {}

    async def enqueue_submission(self, order_id: str) -> int:
        return self._enqueue(f"submit:{order_id}")

    async def active_submission(self, order_id: str) -> int | None:
        return self.queued.get(f"submit:{order_id}")

    async def enqueue_sync(self, provider: ProviderName) -> int:
        return self._enqueue(f"sync:{provider}")

    def _enqueue(self, lock: str) -> int:
        if lock in self.queued:
            raise AlreadyQueuedError(self.queued[lock])
        self.queued[lock] = len(self.queued) + 1
        return self.queued[lock]


class MemoryUnitOfWork(UnitOfWork):
    """Commits keep what was emitted; leaving without commit drops it."""

    orders: MemoryOrders
    products: MemoryProducts
    problems: MemoryProblems
    jobs: MemoryJobs

    def __init__(self) -> None:
        self.orders = MemoryOrders()
        self.products = MemoryProducts()
        self.problems = MemoryProblems()
        self.jobs = MemoryJobs()
        self.committed: list[EventData] = []
        self._pending: list[EventData] = []

    async def __aenter__(self) -> Self:
        self._pending = []
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._pending = []

    async def commit(self) -> None:
        self.committed += self._pending
        self._pending = []

    async def emit(
        self, data: EventData, *, time: datetime | None = None, correlation_id: str | None = None
    ) -> None:
        self._pending.append(data)

    @property
    def types(self) -> list[str]:
        return [e.TYPE for e in self.committed]


class ScriptedProvider(Provider):
    """Answers `submit_order` from a script of outcomes; remembers what it accepted.

    While `refusal` is set every call raises it, as a provider refusing the
    token does, without using up the script. `calls` names every call made.
    """

    def __init__(
        self,
        *outcomes: str | ProviderError,
        accepted: dict[str, str] | None = None,
        name: ProviderName = "Printify",
    ) -> None:
        self.name = name
        self.outcomes = list(outcomes)
        self.accepted: dict[str, str] = accepted or {}
        self.submits = 0
        self.refusal: ProviderError | None = None
        self.products: list[Product] = []
        self.calls: list[str] = []

    def _call(self, operation: str) -> None:
        self.calls.append(operation)
        if self.refusal is not None:
            raise self.refusal

    async def submit_order(self, order: Order) -> str:
        self._call("submit_order")
        self.submits += 1
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, ProviderError):
            raise outcome
        self.accepted[order.order_id] = outcome
        return outcome

    async def find_order(self, external_id: str) -> ProviderOrder | None:
        self._call("find_order")
        if external_id not in self.accepted:
            return None
        return ProviderOrder(self.accepted[external_id], external_id, OrderStatus.SUBMITTED)

    async def get_order(self, provider_order_id: str) -> ProviderOrder:
        self._call("get_order")
        for external_id, accepted_as in self.accepted.items():
            if accepted_as == provider_order_id:
                return ProviderOrder(provider_order_id, external_id, OrderStatus.SUBMITTED)
        raise ProviderError("not scripted")

    async def list_products(self) -> list[Product]:
        self._call("list_products")
        return list(self.products)
