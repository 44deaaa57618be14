"""A provider refusing the shop's credentials is the operator's problem, not the orders'.

Said once (`system.action_needed` with what to change), no attempt used, no
`order.submission_failed` per order; the jobs wait on a slow schedule and
finish by themselves once the provider accepts the shop again, which is said
once too (`system.action_cleared`).
"""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from shoptrail.events.ingest import OrderCreated
from shoptrail.fulfilment.devtools.fake_provider import Fault
from shoptrail.fulfilment.devtools.harness import Shop, TopicSize

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]

GOOD, REVOKED = "good-token", "revoked-token"


def order_created(order_id: str, provider: str = "Printify") -> OrderCreated:
    return OrderCreated.example().model_copy(
        update={"order_id": order_id, "fulfilment_provider": provider}
    )


async def _relayed(shop: Shop) -> bool:
    return bool(await shop.sql("SELECT count(*) FROM fulfilment_outbox") == 0)


async def test_a_refused_token_is_said_once_and_the_orders_wait_without_using_attempts(
    shop: Shop, topic_size: TopicSize
) -> None:
    shop.fake.tokens = {GOOD}
    orders = [f"ord_waiting_{n}" for n in range(3)]
    async with shop.worker(printify_token=SecretStr(REVOKED), operator_retry_s=0.2):
        for order_id in orders:
            await shop.publish(order_created(order_id))
        (needed,) = await shop.events(1)

        async def each_order_tried_twice() -> bool:
            return len(shop.fake.refused) >= 2 * len(orders)

        await shop.wait_for(each_order_tried_twice)

    assert needed.type == "system.action_needed"
    said = needed.data.model_dump()
    assert said["problem"] == "fulfilment.printify_auth"
    assert "FULFILMENT_PRINTIFY_TOKEN" in said["fix"]
    assert "401" in (said["detail"] or "")
    # Nothing per order: no attempt used, no failure said, the orders wait for the fix.
    assert await shop.sql("SELECT max(attempts) FROM fulfilment_orders") == 0
    assert await shop.sql(
        "SELECT count(*) FROM fulfilment_orders WHERE waiting_for = 'fulfilment.printify_auth'"
    ) == len(orders)
    await shop.wait_for(lambda: _relayed(shop))
    assert await topic_size(shop.settings.fulfilment_topic) == 1

    # The operator sets a good token and restarts the worker: the orders go by themselves.
    async with shop.worker(printify_token=SecretStr(GOOD), operator_retry_s=0.2):
        events = await shop.events(1 + len(orders) + 1)
    # Several keys (orders, the problem): compare as a set, not in topic order.
    later = [e for e in events if e.id != needed.id]
    assert sorted(e.type for e in later) == ["order.submitted"] * len(orders) + [
        "system.action_cleared"
    ]
    (cleared,) = [e for e in later if e.type == "system.action_cleared"]
    assert cleared.data.model_dump()["problem"] == "fulfilment.printify_auth"
    assert {e.subject for e in later if e.type == "order.submitted"} == set(orders)
    # No "retried" event: the first attempt that reached the provider is attempt 1.
    assert await shop.sql("SELECT max(attempts) FROM fulfilment_orders") == 1
    for order_id in orders:
        assert len(shop.fake.orders_with_external_id(order_id)) == 1
    await shop.wait_for(lambda: _relayed(shop))
    assert await topic_size(shop.settings.fulfilment_topic) == 1 + len(orders) + 1


async def test_a_missing_printify_shop_says_which_setting_to_fix(shop: Shop) -> None:
    shop.fake.shops = {"12345"}
    async with shop.worker(printify_shop_id="999", operator_retry_s=0.2):
        await shop.publish(order_created("ord_no_shop"))
        (needed,) = await shop.events(1)
    said = needed.data.model_dump()
    assert (needed.type, said["problem"]) == ("system.action_needed", "fulfilment.printify_shop")
    assert "FULFILMENT_PRINTIFY_SHOP_ID" in said["fix"]
    assert await shop.order_status("ord_no_shop") == "received"


async def test_an_order_problem_is_still_the_orders_own(shop: Shop) -> None:
    """A 400 about the order's address is not the operator's: failed, not waiting."""
    shop.fake.plan(Fault(kind="error", times=1, status=400, message="Address is invalid"))
    async with shop.worker():
        await shop.publish(order_created("ord_bad_address"))
        events = await shop.events(2)
    assert [e.type for e in events] == ["order.submission_failed", "job.exhausted"]
    assert await shop.sql("SELECT count(*) FROM fulfilment_operator_problems") == 0


async def test_a_refused_sync_waits_for_the_operator_and_then_completes(shop: Shop) -> None:
    shop.fake.tokens = {GOOD}
    shop.fake.products["Printful"] = [
        {"id": "p1", "title": "Tee", "variants": [{"id": 1, "price": 3800}]}
    ]
    async with shop.worker(printful_token=SecretStr(REVOKED), operator_retry_s=0.2):
        assert (await shop.api.post("/syncs", json={"provider": "Printful"})).status_code == 202
        first = await shop.events(2)  # two keys (the sync, the problem): no order between them
    assert sorted(e.type for e in first) == ["sync.started", "system.action_needed"]
    (needed,) = [e for e in first if e.type == "system.action_needed"]
    assert "FULFILMENT_PRINTFUL_TOKEN" in needed.data.model_dump()["fix"]

    async with shop.worker(printful_token=SecretStr(GOOD), operator_retry_s=0.2):
        events = await shop.events(4)
    assert sorted(e.type for e in events) == [
        "sync.completed",
        "sync.started",
        "system.action_cleared",
        "system.action_needed",
    ]
    assert await shop.sql("SELECT count(*) FROM fulfilment_products") == 1
