"""The submission use case's rules, with in-memory fakes of its ports."""

from __future__ import annotations

import datetime as dt

import pytest
from procrastinate.jobs import Job

from shoptrail.fulfilment.adapters.jobs import Backoff
from shoptrail.fulfilment.devtools.memory import MemoryUnitOfWork, ScriptedProvider
from shoptrail.fulfilment.domain.model import Order, OrderStatus
from shoptrail.fulfilment.service_layer.ports import ProviderError
from shoptrail.fulfilment.service_layer.submission import (
    ReportedFailureError,
    RetryLaterError,
    submit_order,
)


def stored(uow: MemoryUnitOfWork, limit: int = 3) -> None:
    uow.orders.rows["ord_1"] = Order(
        order_id="ord_1",
        order_number="SS-1",
        provider="Printify",
        status=OrderStatus.RECEIVED,
        details={},
        attempt_limit=limit,
    )


async def test_a_first_attempt_that_succeeds_submits_without_a_lookup() -> None:
    uow, provider = MemoryUnitOfWork(), ScriptedProvider("PFY-1")
    stored(uow)
    assert (
        await submit_order(order_id="ord_1", job_id=7, uow=uow, providers={"Printify": provider})
        == "PFY-1"
    )
    assert uow.types == ["order.submitted"]
    assert uow.orders.rows["ord_1"].status is OrderStatus.SUBMITTED


async def test_a_retry_finds_an_order_the_provider_accepted_and_does_not_resubmit() -> None:
    uow = MemoryUnitOfWork()
    # The provider kept the order but our client saw a timeout.
    provider = ScriptedProvider(ProviderError("Printify did not answer in time"), accepted={})
    stored(uow)
    with pytest.raises(RetryLaterError):
        await submit_order(order_id="ord_1", job_id=7, uow=uow, providers={"Printify": provider})
    provider.accepted["ord_1"] = "PFY-9"
    assert (
        await submit_order(order_id="ord_1", job_id=7, uow=uow, providers={"Printify": provider})
        == "PFY-9"
    )
    assert provider.submits == 1
    assert uow.types == ["order.submission_failed", "order.submission_retried", "order.submitted"]


async def test_the_last_failed_attempt_reports_exhaustion_once() -> None:
    uow = MemoryUnitOfWork()
    provider = ScriptedProvider(*[ProviderError("down")] * 2)
    stored(uow, limit=2)
    with pytest.raises(RetryLaterError):
        await submit_order(order_id="ord_1", job_id=7, uow=uow, providers={"Printify": provider})
    with pytest.raises(ReportedFailureError):
        await submit_order(order_id="ord_1", job_id=7, uow=uow, providers={"Printify": provider})
    assert uow.types == [
        "order.submission_failed",
        "order.submission_retried",
        "order.submission_failed",
        "job.exhausted",
    ]
    assert uow.orders.rows["ord_1"].status is OrderStatus.FAILED
    # A stray re-run of the job after giving up does nothing.
    assert (
        await submit_order(order_id="ord_1", job_id=7, uow=uow, providers={"Printify": provider})
        is None
    )
    assert len(uow.committed) == 4


async def test_a_refunded_order_is_not_submitted() -> None:
    uow, provider = MemoryUnitOfWork(), ScriptedProvider("PFY-1")
    stored(uow)
    await uow.orders.mark_refunded("ord_1")
    assert (
        await submit_order(order_id="ord_1", job_id=7, uow=uow, providers={"Printify": provider})
        is None
    )
    assert provider.submits == 0
    assert uow.committed == []


def test_backoff_doubles_honours_retry_after_and_retries_only_retry_later() -> None:
    backoff = Backoff(base_s=10, max_s=60)
    job = Job(id=1, queue="q", lock=None, queueing_lock=None, task_name="t", attempts=2)
    now = dt.datetime.now(dt.UTC)
    decision = backoff.get_retry_decision(exception=RetryLaterError("x"), job=job)
    assert decision is not None and decision.retry_at is not None
    assert 39 <= (decision.retry_at - now).total_seconds() <= 41
    later = backoff.get_retry_decision(exception=RetryLaterError("x", retry_after=55), job=job)
    assert later is not None and later.retry_at is not None
    assert (later.retry_at - now).total_seconds() >= 54
    capped = Job(id=1, queue="q", lock=None, queueing_lock=None, task_name="t", attempts=9)
    decision = backoff.get_retry_decision(exception=RetryLaterError("x"), job=capped)
    assert decision is not None and decision.retry_at is not None
    assert (decision.retry_at - now).total_seconds() <= 61
    assert backoff.get_retry_decision(exception=ValueError("bug"), job=job) is None
