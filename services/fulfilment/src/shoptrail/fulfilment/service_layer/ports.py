"""The ports use cases depend on; adapters implement them, unit tests fake them."""

from __future__ import annotations

import abc
from collections.abc import Iterable, Mapping
from datetime import datetime
from types import TracebackType
from typing import Self

from shoptrail.events import EventData
from shoptrail.fulfilment.domain.model import (
    Order,
    OrderStatus,
    Product,
    ProviderName,
    ProviderOrder,
    SyncCounts,
    Tracking,
)
from shoptrail.fulfilment.domain.problems import OperatorProblem, Scope


class ProviderError(Exception):
    """A provider call failed; `reason` is in plain words, fit for the shop owner.

    `problem` is set when the operator must fix something (the token, the shop
    id): then nothing about this order or sync is wrong, and callers wait for
    the fix instead of counting a failure.
    """

    def __init__(
        self,
        reason: str,
        *,
        retryable: bool = True,
        retry_after: float | None = None,
        problem: OperatorProblem | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable
        self.retry_after = retry_after
        self.problem = problem


class Provider(abc.ABC):
    """A print-on-demand provider's API (Printify, Printful)."""

    name: ProviderName

    @abc.abstractmethod
    async def submit_order(self, order: Order) -> str:
        """Create the order at the provider with our order id as external id; its id."""

    @abc.abstractmethod
    async def find_order(self, external_id: str) -> ProviderOrder | None:
        """The provider's order carrying our `external_id`, if it has one."""

    @abc.abstractmethod
    async def get_order(self, provider_order_id: str) -> ProviderOrder:
        """The provider's current view of one of its orders."""

    @abc.abstractmethod
    async def list_products(self) -> list[Product]:
        """Every product the shop has at the provider."""


Providers = Mapping[ProviderName, Provider]


class AlreadyQueuedError(Exception):
    """A job for the same thing is already waiting or running."""

    def __init__(self, job_id: int | None) -> None:
        super().__init__(f"already queued (job {job_id})")
        self.job_id = job_id


class OrderRepository(abc.ABC):
    """Fulfilment's orders. Status changes are conditional: they say whether they happened."""

    @abc.abstractmethod
    async def add(self, order: Order) -> bool:
        """Store a new order; False when it was already there."""

    @abc.abstractmethod
    async def get(self, order_id: str, *, for_update: bool = False) -> Order | None:
        """One order (row-locked until the transaction ends with `for_update`)."""

    @abc.abstractmethod
    async def find_by_provider_order(
        self, provider: ProviderName, provider_order_id: str
    ) -> Order | None:
        """The order the provider knows under `provider_order_id`."""

    @abc.abstractmethod
    async def start_attempt(self, order_id: str) -> Order | None:
        """Count one more submission attempt if the order awaits one and has attempts left."""

    @abc.abstractmethod
    async def record_failure(self, order_id: str, reason: str, *, gave_up: bool) -> None:
        """Remember why the last attempt failed; `gave_up` marks the order failed."""

    @abc.abstractmethod
    async def hold_for_operator(self, order_id: str, problem: OperatorProblem) -> bool:
        """The attempt just started met an operator problem: give it back, await the fix.

        False if the order was no longer in that attempt (refunded meanwhile).
        """

    @abc.abstractmethod
    async def mark_submitted(self, order_id: str, provider_order_id: str) -> bool:
        """Awaiting submission → submitted; False if it was not awaiting submission."""

    @abc.abstractmethod
    async def mark_refunded(self, order_id: str) -> bool:
        """Not yet submitted → refunded (never to be submitted); False otherwise."""

    @abc.abstractmethod
    async def allow_retry(self, order_id: str, extra_attempts: int) -> Order:
        """A failed order awaits submission again, with `extra_attempts` more attempts."""

    @abc.abstractmethod
    async def advance(
        self,
        order_id: str,
        new: OrderStatus,
        *,
        allowed_from: Iterable[OrderStatus],
        tracking: Tracking | None = None,
    ) -> bool:
        """Move to `new` only from `allowed_from`; True if this call made the change."""

    @abc.abstractmethod
    async def at_provider(self, limit: int) -> list[Order]:
        """Orders in flight at their provider, least recently polled first."""


class ProductRepository(abc.ABC):
    """The provider's products, as last synced."""

    @abc.abstractmethod
    async def replace_all(self, provider: ProviderName, products: list[Product]) -> SyncCounts:
        """Upsert `products`, delete the provider's others; what changed."""


class ProblemRepository(abc.ABC):
    """Operator problems that are open: said once, remembered until a call proves them fixed."""

    @abc.abstractmethod
    async def open(self, problem: OperatorProblem) -> bool:
        """Remember `problem` as seen now; True only if it was not open already."""

    @abc.abstractmethod
    async def clear(
        self, provider: ProviderName, scopes: frozenset[Scope]
    ) -> list[OperatorProblem]:
        """A call to `provider` needing `scopes` succeeded: forget what that disproves; those."""


class JobQueue(abc.ABC):
    """Background jobs, enqueued in the same transaction as the state change that needs them."""

    @abc.abstractmethod
    async def enqueue_submission(self, order_id: str) -> int:
        """Queue the submission job; `AlreadyQueuedError` if one is waiting."""

    @abc.abstractmethod
    async def active_submission(self, order_id: str) -> int | None:
        """The id of a submission job waiting or running for this order."""

    @abc.abstractmethod
    async def enqueue_sync(self, provider: ProviderName) -> int:
        """Queue a product sync; `AlreadyQueuedError` if one is waiting or running."""


class UnitOfWork(abc.ABC):
    """One database transaction: repositories, job queue and outbox commit together.

    `async with uow:` begins; leaving without `commit()` rolls back. Reusable:
    each `async with` is a new transaction.
    """

    orders: OrderRepository
    products: ProductRepository
    problems: ProblemRepository
    jobs: JobQueue

    @abc.abstractmethod
    async def __aenter__(self) -> Self: ...

    @abc.abstractmethod
    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    @abc.abstractmethod
    async def commit(self) -> None:
        """Make everything done in this transaction durable, events included."""

    @abc.abstractmethod
    async def emit(
        self,
        data: EventData,
        *,
        time: datetime | None = None,
        correlation_id: str | None = None,
    ) -> None:
        """Stage an event in the outbox, in this transaction."""
