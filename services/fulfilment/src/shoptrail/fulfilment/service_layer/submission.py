"""Taking an order from payment to the provider: store it, submit it, retry, give up.

An operator problem (a refused token, a missing shop) is neither a failure of
the order nor a used attempt: the attempt is given back, the problem is said
once for the whole shop, and the job waits on a slow schedule until it is fixed.
"""

from __future__ import annotations

import logging

from shoptrail.events import Event
from shoptrail.events.fulfilment import (
    OrderSubmissionFailed,
    OrderSubmissionRetried,
    OrderSubmitted,
)
from shoptrail.events.ingest import OrderCreated, OrderRefunded
from shoptrail.events.system import JobExhausted
from shoptrail.fulfilment.domain.model import Order, OrderStatus
from shoptrail.fulfilment.domain.problems import OperatorProblem, Scope
from shoptrail.fulfilment.service_layer.ports import ProviderError, Providers, UnitOfWork
from shoptrail.fulfilment.service_layer.problems import clear_problems, note_problem

log = logging.getLogger(__name__)

SUBMIT_JOB = "submit_order"


class RetryLaterError(Exception):
    """This attempt failed; the job should run again after a backoff (or `retry_after`)."""

    def __init__(self, reason: str, *, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class WaitingForOperatorError(RetryLaterError):
    """Only the operator can fix what stopped this job (already said); run it again, slowly."""

    def __init__(self, problem: OperatorProblem) -> None:
        super().__init__(problem.summary)
        self.problem = problem


class ReportedFailureError(Exception):
    """The job gave up and already recorded why (events staged); do not report it again."""


async def record_order(*, event: Event[OrderCreated], uow: UnitOfWork, max_attempts: int) -> bool:
    """Store a paid order and queue its submission, atomically; False if already known."""
    data = event.data
    order = Order(
        order_id=data.order_id,
        order_number=data.order_number,
        provider=data.fulfilment_provider,
        status=OrderStatus.RECEIVED,
        details={
            "line_items": [item.model_dump(mode="json") for item in data.line_items],
            "shipping_address": (
                data.shipping_address.model_dump(mode="json") if data.shipping_address else None
            ),
            "customer_email": data.customer_email,
        },
        attempt_limit=max_attempts,
        correlation_id=event.correlationid or str(event.id),
    )
    async with uow:
        added = await uow.orders.add(order)
        if added:
            await uow.jobs.enqueue_submission(order.order_id)
        await uow.commit()
    return added


async def record_refund(*, event: Event[OrderRefunded], uow: UnitOfWork) -> bool:
    """A fully refunded order that has not reached the provider is never submitted."""
    if not event.data.full:
        return False
    async with uow:
        stopped = await uow.orders.mark_refunded(event.data.order_id)
        await uow.commit()
    if stopped:
        log.info("refunded before submission; will not submit", extra={"order_id": event.subject})
    return stopped


async def submit_order(
    *, order_id: str, job_id: int, uow: UnitOfWork, providers: Providers
) -> str | None:
    """One submission attempt; the provider order id, or None when there is nothing to do.

    Raises `RetryLaterError` when another attempt should follow,
    `WaitingForOperatorError` when the attempt met an operator problem (and was
    given back), and `ReportedFailureError` when this was the last one.
    """
    async with uow:
        order = await uow.orders.start_attempt(order_id)
        if order is None:
            stuck = await uow.orders.get(order_id)
        elif order.attempts > 1 and order.waiting_for is None:
            # An attempt resumed after waiting for the operator was announced before the wait.
            await uow.emit(
                OrderSubmissionRetried(
                    order_id=order_id,
                    provider=order.provider,
                    attempt=order.attempts,
                    max_attempts=order.attempt_limit,
                    manual=order.manual_retry,
                ),
                correlation_id=order.correlation_id,
            )
        await uow.commit()
    if order is None:
        if stuck is not None and stuck.status is OrderStatus.SUBMITTING:
            return await _settle_interrupted_last_attempt(stuck, job_id, uow, providers)
        return None

    provider = providers[order.provider]
    used: set[Scope] = set()
    try:
        # A previous attempt may have reached the provider and lost only the answer.
        existing = None
        if order.attempts > 1:
            existing = await provider.find_order(order_id)
            used.add("orders.read")
        if existing is not None:
            log.info(
                "found the order at the provider; not submitting again",
                extra={"order_id": order_id},
            )
            provider_order_id = existing.provider_order_id
        else:
            provider_order_id = await provider.submit_order(order)
            used.add("orders.write")
    except ProviderError as exc:
        if exc.problem is not None:
            raise await _wait_for_operator(order, exc.problem, uow) from exc
        raise await _record_failure(order, exc, job_id, uow) from exc

    await _record_submitted(order, provider_order_id, uow, frozenset(used))
    return provider_order_id


async def _record_submitted(
    order: Order, provider_order_id: str, uow: UnitOfWork, used: frozenset[Scope]
) -> None:
    """The provider has the order; the calls that got it there disprove operator problems."""
    async with uow:
        if await uow.orders.mark_submitted(order.order_id, provider_order_id):
            await uow.emit(
                OrderSubmitted(
                    order_id=order.order_id,
                    provider=order.provider,
                    provider_order_id=provider_order_id,
                ),
                correlation_id=order.correlation_id,
            )
        # After the order row, as every transaction here locks them: no deadlock.
        await clear_problems(order.provider, used, uow)
        await uow.commit()


async def _wait_for_operator(
    order: Order, problem: OperatorProblem, uow: UnitOfWork
) -> WaitingForOperatorError:
    """Give the attempt back and say the problem if it is new; no failure of this order."""
    async with uow:
        await uow.orders.hold_for_operator(order.order_id, problem)
        await note_problem(problem, uow)
        await uow.commit()
    log.info(
        "submission waits for the operator",
        extra={"order_id": order.order_id, "problem": problem.key},
    )
    return WaitingForOperatorError(problem)


async def _record_failure(
    order: Order, exc: ProviderError, job_id: int, uow: UnitOfWork
) -> RetryLaterError | ReportedFailureError:
    """Stage the failure (and, after the last attempt, the exhaustion); what to raise."""
    gave_up = not exc.retryable or order.attempts >= order.attempt_limit
    async with uow:
        await uow.orders.record_failure(order.order_id, exc.reason, gave_up=gave_up)
        await uow.emit(
            OrderSubmissionFailed(
                order_id=order.order_id,
                provider=order.provider,
                reason=exc.reason,
                attempt=order.attempts,
                max_attempts=order.attempt_limit,
            ),
            correlation_id=order.correlation_id,
        )
        if gave_up:
            await _emit_exhausted(order, exc.reason, job_id, uow)
        await uow.commit()
    if gave_up:
        return ReportedFailureError(exc.reason)
    return RetryLaterError(exc.reason, retry_after=exc.retry_after)


async def _settle_interrupted_last_attempt(
    order: Order, job_id: int, uow: UnitOfWork, providers: Providers
) -> str | None:
    """The last attempt was cut off (worker killed): did the provider get the order?"""
    try:
        existing = await providers[order.provider].find_order(order.order_id)
    except ProviderError as exc:
        if exc.problem is not None:  # the attempt is not ours to give back: only wait
            async with uow:
                await note_problem(exc.problem, uow)
                await uow.commit()
            raise WaitingForOperatorError(exc.problem) from exc
        raise RetryLaterError(exc.reason, retry_after=exc.retry_after) from exc
    if existing is not None:
        await _record_submitted(order, existing.provider_order_id, uow, frozenset({"orders.read"}))
        return existing.provider_order_id
    reason = "the last attempt was interrupted before the provider answered"
    async with uow:
        await uow.orders.record_failure(order.order_id, reason, gave_up=True)
        await _emit_exhausted(order, reason, job_id, uow)
        await uow.commit()
    raise ReportedFailureError(reason)


async def _emit_exhausted(order: Order, reason: str, job_id: int, uow: UnitOfWork) -> None:
    await uow.emit(
        JobExhausted(
            job_name=SUBMIT_JOB,
            job_id=str(job_id),
            attempts=max(order.attempts, 1),
            last_error=reason,
            order_id=order.order_id,
        ),
        correlation_id=order.correlation_id,
    )
