"""order.created → submission job: retries, failures, exhaustion, idempotent lookup."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shoptrail.events.fulfilment import OrderSubmitted
from shoptrail.events.ingest import OrderCreated, OrderRefunded, ProviderStatusReported
from shoptrail.events.money import Money
from shoptrail.fulfilment.devtools.fake_provider import Fault
from shoptrail.fulfilment.devtools.harness import Shop, TopicSize

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]


def order_created(order_id: str, provider: str = "Printify") -> OrderCreated:
    return OrderCreated.example().model_copy(
        update={"order_id": order_id, "fulfilment_provider": provider}
    )


def reported(
    order_id: str, provider_order_id: str, status: str, **extra: str
) -> ProviderStatusReported:
    return ProviderStatusReported(
        provider="Printify",
        provider_order_id=provider_order_id,
        order_id=order_id,
        status=status,
        reported_at=datetime.now(UTC),
        **extra,
    )


async def test_an_order_goes_from_created_to_delivered_with_events_in_order(shop: Shop) -> None:
    async with shop.worker():
        await shop.publish(order_created("ord_happy"))
        (submitted,) = await shop.events(1)
    assert isinstance(submitted.data, OrderSubmitted)
    provider_id = submitted.data.provider_order_id
    assert [o["id"] for o in shop.fake.orders_with_external_id("ord_happy")] == [provider_id]

    await shop.publish(reported("ord_happy", provider_id, "in-production"))
    await shop.publish(
        reported(
            "ord_happy",
            provider_id,
            "shipped",
            carrier="DHL",
            tracking_number="1Z999",
            tracking_url="https://track.example/1Z999",
        )
    )
    await shop.publish(reported("ord_happy", provider_id, "delivered"))

    events = await shop.events(4)
    assert [e.type for e in events] == [
        "order.submitted",
        "order.production",
        "order.shipped",
        "order.delivered",
    ]
    assert {e.subject for e in events} == {"ord_happy"}
    shipped = events[2].data.model_dump()
    assert (shipped["carrier"], shipped["tracking_number"], shipped["tracking_url"]) == (
        "DHL",
        "1Z999",
        "https://track.example/1Z999",
    )
    assert await shop.order_status("ord_happy") == "delivered"


async def test_a_provider_failing_twice_is_retried_until_the_order_is_submitted(
    shop: Shop,
) -> None:
    shop.fake.plan(Fault(kind="error", times=2, status=503, message="Printify is down"))
    async with shop.worker():
        await shop.publish(order_created("ord_flaky"))
        events = await shop.events(5)
    assert [e.type for e in events] == [
        "order.submission_failed",
        "order.submission_retried",
        "order.submission_failed",
        "order.submission_retried",
        "order.submitted",
    ]
    failed, retried = events[0].data.model_dump(), events[3].data.model_dump()
    assert "Printify is down" in failed["reason"]
    assert (failed["attempt"], failed["max_attempts"]) == (1, 3)
    assert events[3].message == "Submission retried — attempt 3 of 3"
    assert retried["manual"] is False
    assert len(shop.fake.orders_with_external_id("ord_flaky")) == 1


async def test_after_the_last_attempt_the_job_is_exhausted_and_a_manual_retry_submits(
    shop: Shop,
) -> None:
    # A provider's words can quote the customer: what reaches the feed has them masked.
    shop.fake.plan(
        Fault(
            kind="error",
            times=3,
            status=500,
            message="Address check timed out for ada.okafor@example.com",
        )
    )
    async with shop.worker():
        await shop.publish(order_created("ord_doomed"))
        events = await shop.events(6)
        assert [e.type for e in events] == [
            "order.submission_failed",
            "order.submission_retried",
            "order.submission_failed",
            "order.submission_retried",
            "order.submission_failed",
            "job.exhausted",
        ]
        exhausted = events[-1].data.model_dump()
        assert exhausted["job_name"] == "submit_order"
        assert exhausted["order_id"] == "ord_doomed"
        assert exhausted["attempts"] == 3
        assert "Address check timed out" in exhausted["last_error"]
        for event in events:
            assert "ada.okafor@example.com" not in event.model_dump_json()
        assert await shop.order_status("ord_doomed") == "failed"

        shop.fake.faults.clear()
        response = await shop.api.post("/orders/ord_doomed/submission/retry")
        assert response.status_code == 202, response.text
        events = await shop.events(8)
    assert [e.type for e in events[6:]] == ["order.submission_retried", "order.submitted"]
    assert events[6].data.model_dump()["manual"] is True
    assert events[6].message == "Submission retried — attempt 4 of 6"
    assert len(shop.fake.orders_with_external_id("ord_doomed")) == 1


async def test_a_rejected_order_is_not_retried(shop: Shop) -> None:
    shop.fake.plan(Fault(kind="error", times=1, status=400, message="Address is invalid"))
    async with shop.worker():
        await shop.publish(order_created("ord_rejected"))
        events = await shop.events(2)
    assert [e.type for e in events] == ["order.submission_failed", "job.exhausted"]
    assert (
        events[0].message
        == "Submission to Printify failed: Printify refused the request: Address is invalid"
    )


async def test_an_order_accepted_but_whose_answer_was_lost_is_not_submitted_twice(
    shop: Shop,
) -> None:
    shop.fake.plan(Fault(kind="accept_then_drop", times=1, delay=2.0))
    async with shop.worker():
        await shop.publish(order_created("ord_dropped"))
        events = await shop.events(3)
    assert [e.type for e in events] == [
        "order.submission_failed",
        "order.submission_retried",
        "order.submitted",
    ]
    assert "did not answer in time" in events[0].data.model_dump()["reason"]
    (only,) = shop.fake.orders_with_external_id("ord_dropped")
    assert events[2].data.model_dump()["provider_order_id"] == only["id"]
    assert shop.fake.calls.count("create_order") == 1


async def test_a_rate_limited_submission_waits_for_retry_after(shop: Shop) -> None:
    shop.fake.plan(Fault(kind="rate_limit", times=1, retry_after=1.0))
    async with shop.worker():
        await shop.publish(order_created("ord_limited", provider="Printful"))
        events = await shop.events(3)
    assert [e.type for e in events] == [
        "order.submission_failed",
        "order.submission_retried",
        "order.submitted",
    ]
    assert "rate limit" in events[0].data.model_dump()["reason"]
    assert (events[1].time - events[0].time).total_seconds() >= 0.9


async def test_a_refunded_order_is_never_submitted(shop: Shop, topic_size: TopicSize) -> None:
    await shop.publish(order_created("ord_refunded"))
    await shop.publish(
        OrderRefunded(order_id="ord_refunded", amount=Money(amount=4300, currency="GBP"), full=True)
    )

    async def refunded() -> bool:
        return await shop.order_status("ord_refunded") == "refunded"

    await shop.wait_for(refunded)
    async with shop.worker():

        async def job_done() -> bool:
            status = await shop.sql(
                "SELECT status FROM procrastinate_jobs WHERE task_name = 'submit_order'"
            )
            return bool(status == "succeeded")

        await shop.wait_for(job_done)
    assert shop.fake.orders_with_external_id("ord_refunded") == []
    assert "create_order" not in shop.fake.calls
    assert await shop.sql("SELECT count(*) FROM fulfilment_outbox") == 0
    assert await topic_size(shop.settings.fulfilment_topic) == 0
    response = await shop.api.post("/orders/ord_refunded/submission/retry")
    assert response.status_code == 409
    assert "refunded" in response.json()["detail"]
