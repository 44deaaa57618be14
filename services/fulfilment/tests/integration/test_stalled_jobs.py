"""A worker killed mid-job: the job is detected as stalled, retried, and completes once."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

from shoptrail.events.ingest import OrderCreated
from shoptrail.fulfilment.devtools.fake_provider import Fault
from shoptrail.fulfilment.devtools.harness import Shop, settings_env

pytestmark = [pytest.mark.kafka, pytest.mark.postgres, pytest.mark.slow]


async def test_a_worker_killed_mid_submission_is_recovered_and_submits_once(
    shop: Shop, tmp_path: Path
) -> None:
    # The provider takes the order, then never answers: the worker is mid-call when killed.
    shop.fake.plan(Fault(kind="accept_then_drop", delay=60))
    env = os.environ | settings_env(shop.settings, provider_timeout_s=120)
    log = (tmp_path / "worker.log").open("wb")
    worker = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "shoptrail.fulfilment",
        "worker",
        "--name",
        "doomed",
        env=env,
        stdout=log,
        stderr=log,
    )
    try:
        await shop.publish(OrderCreated.example().model_copy(update={"order_id": "ord_killed"}))

        async def provider_has_it() -> bool:
            return len(shop.fake.orders_with_external_id("ord_killed")) == 1

        await shop.wait_for(provider_has_it, timeout=30)
    finally:
        worker.kill()  # SIGKILL: no cleanup, the job stays "doing"
        await worker.wait()
        log.close()
    assert (
        await shop.sql(
            "SELECT status::text FROM procrastinate_jobs WHERE task_name = 'submit_order'"
        )
        == "doing"
    )

    async with shop.worker():
        events = await shop.events(2)

        async def job_succeeded() -> bool:
            status = await shop.sql(
                "SELECT status::text FROM procrastinate_jobs WHERE task_name = 'submit_order'"
            )
            return bool(status == "succeeded")

        await shop.wait_for(job_succeeded)
    assert [e.type for e in events] == ["order.submission_retried", "order.submitted"]
    (only,) = shop.fake.orders_with_external_id("ord_killed")
    assert events[1].data.model_dump()["provider_order_id"] == only["id"]
    assert shop.fake.calls.count("create_order") == 1
    assert await shop.sql("SELECT count(*) FROM procrastinate_jobs WHERE status = 'doing'") == 0
    assert await shop.order_status("ord_killed") == "submitted"
