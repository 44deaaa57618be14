"""The shop owner's actions: one job however many clicks, refusals that explain themselves."""

from __future__ import annotations

import asyncio

import pytest

from shoptrail.events.ingest import OrderCreated
from shoptrail.fulfilment.devtools.fake_provider import Fault
from shoptrail.fulfilment.devtools.harness import Shop

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]


async def failed_order(shop: Shop, order_id: str) -> None:
    shop.fake.plan(Fault(kind="error", times=1, status=422, message="Unknown SKU"))
    async with shop.worker():
        await shop.publish(OrderCreated.example().model_copy(update={"order_id": order_id}))
        await shop.events(2)  # failed, exhausted
    assert await shop.order_status(order_id) == "failed"


async def test_a_hundred_concurrent_retry_requests_queue_one_job(shop: Shop) -> None:
    await failed_order(shop, "ord_clicked")
    responses = await asyncio.gather(
        *(shop.api.post("/orders/ord_clicked/submission/retry") for _ in range(100))
    )
    accepted = [r for r in responses if r.status_code == 202]
    assert len(accepted) == 1
    job_id = accepted[0].json()["job_id"]
    refused = [r.json() for r in responses if r.status_code == 409]
    assert refused == [{"detail": "already queued", "job_id": job_id}] * 99
    waiting = await shop.sql(
        "SELECT count(*) FROM procrastinate_jobs WHERE queueing_lock = 'submit_order:ord_clicked' "
        "AND status = 'todo'"
    )
    assert waiting == 1


async def test_retrying_a_submitted_order_is_refused_with_the_reason(shop: Shop) -> None:
    async with shop.worker():
        await shop.publish(OrderCreated.example().model_copy(update={"order_id": "ord_done"}))
        await shop.events(1)
    response = await shop.api.post("/orders/ord_done/submission/retry")
    assert response.status_code == 409
    assert "already submitted to Printify" in response.json()["detail"]
    assert (await shop.api.post("/orders/ord_nope/submission/retry")).status_code == 404


async def test_actions_need_the_service_token(shop: Shop) -> None:
    response = await shop.api.post(
        "/syncs", json={"provider": "Printify"}, headers={"Authorization": "Bearer wrong"}
    )
    assert response.status_code == 401
    assert (await shop.api.post("/syncs", json={"provider": "Etsy"})).status_code == 422
    schema = (await shop.api.get("/openapi.json")).json()
    assert "409" in schema["paths"]["/orders/{order_id}/submission/retry"]["post"]["responses"]
