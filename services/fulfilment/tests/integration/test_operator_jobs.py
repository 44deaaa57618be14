"""fulfilment's jobs for the operator: `/api/jobs` (service token) and `shoptrail-fulfilment jobs`.

Also the contract our in-transaction enqueue relies on (adapters/job_queue.py):
procrastinate's SQL function and composite type, called by name from our own
SQLAlchemy transaction. An upgrade of procrastinate that renames or reshapes
them fails here, before it loses a submission.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from typing import Any

import pytest
from procrastinate import manager, sql

from shoptrail.fulfilment.adapters.job_queue import _DEFER, QUEUEING_LOCK_INDEX
from shoptrail.fulfilment.config import Settings
from shoptrail.fulfilment.devtools.harness import Shop, settings_env
from shoptrail.fulfilment.service_layer.ports import AlreadyQueuedError
from shoptrail.kit.jobs import open_job_queue
from shoptrail.testing.jobs import CUSTOMER, fail_a_job

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]


async def cli(settings: Settings, *args: str) -> tuple[int, str, str]:
    """`shoptrail-fulfilment jobs …` as a process: exit status, stdout, stderr."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "shoptrail.fulfilment",
        "jobs",
        *args,
        env=os.environ | settings_env(settings),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


class TestApi:
    async def test_jobs_need_the_service_token(self, shop: Shop) -> None:
        bare = {"Authorization": ""}
        assert (await shop.api.get("/api/jobs", headers=bare)).status_code == 401
        wrong = {"Authorization": "Bearer nope"}
        assert (await shop.api.post("/api/jobs/1/retry", headers=wrong)).status_code == 401
        assert (await shop.api.post("/api/jobs/1/cancel", headers=wrong)).status_code == 401

    async def test_a_failed_job_is_listed_retried_once_then_refused(self, shop: Shop) -> None:
        job_id = await fail_a_job(shop.settings.psycopg_conninfo, "submit_order", order_id="o1")
        listed = (await shop.api.get("/api/jobs", params={"state": "failed"})).json()
        assert [(j["id"], j["task"], j["state"]) for j in listed] == [
            (job_id, "submit_order", "failed")
        ]
        assert listed[0]["last_error"] == "RuntimeError: mail server refused <email>"
        assert CUSTOMER not in json.dumps(listed)

        first = await shop.api.post(f"/api/jobs/{job_id}/retry")
        assert (first.status_code, first.json()["state"]) == (200, "waiting")
        second = await shop.api.post(f"/api/jobs/{job_id}/retry")
        assert second.status_code == 409
        assert second.json()["detail"].startswith(f"job {job_id} is waiting")
        waiting = (await shop.api.get("/api/jobs", params={"state": "waiting"})).json()
        assert [j["id"] for j in waiting] == [job_id]

    async def test_unknown_job_wrong_state_and_a_bad_filter(self, shop: Shop) -> None:
        assert (await shop.api.post("/api/jobs/4242/retry")).status_code == 404
        assert (await shop.api.post("/api/jobs/4242/cancel")).status_code == 404
        job_id = await fail_a_job(shop.settings.psycopg_conninfo, "sync_products", provider="x")
        refused = await shop.api.post(f"/api/jobs/{job_id}/cancel")
        assert refused.status_code == 409 and "is failed" in refused.json()["detail"]
        assert (await shop.api.get("/api/jobs", params={"state": "done"})).status_code == 422

    async def test_the_routes_are_documented(self, shop: Shop) -> None:
        paths = (await shop.api.get("/openapi.json")).json()["paths"]
        assert {"/api/jobs", "/api/jobs/{job_id}/retry", "/api/jobs/{job_id}/cancel"} <= set(paths)
        retry = paths["/api/jobs/{job_id}/retry"]["post"]
        assert {"200", "401", "404", "409"} <= set(retry["responses"])


class TestCli:
    async def test_list_retry_and_the_exit_statuses(self, shop: Shop) -> None:
        settings = shop.settings
        job_id = await fail_a_job(settings.psycopg_conninfo, "sync_products", provider="Printify")

        status, out, _ = await cli(settings, "list", "--state", "failed", "--json")
        assert status == 0
        (listed,) = json.loads(out)
        assert (listed["id"], listed["state"]) == (job_id, "failed")

        status, out, _ = await cli(settings, "list")
        assert status == 0 and "sync_products" in out and "RuntimeError" in out

        assert (await cli(settings, "retry", str(job_id)))[0] == 0
        status, out, err = await cli(settings, "retry", str(job_id))
        assert (status, out) == (1, "")
        assert (
            err == f"error: job {job_id} is waiting: only a failed or stalled job can be retried\n"
        )

        status, _, err = await cli(settings, "cancel", "4242")
        assert (status, err) == (1, "error: no job 4242\n")
        assert (await cli(settings, "cancel", str(job_id)))[0] == 0
        async with open_job_queue(settings.psycopg_conninfo, stalled_after_s=60) as queue:
            assert (await queue.get(job_id)).state == "cancelled"

    async def test_every_argument_is_explained(self, settings: Settings) -> None:
        status, out, _ = await cli(settings, "list", "--help")
        assert status == 0
        for option in ("--state", "--limit", "--json", "stalled: its worker stopped"):
            assert option in out
        status, out, _ = await cli(settings, "cancel", "--help")
        assert "--abort" in out and "the job's id" in out


class TestEnqueueContract:
    """What `SqlJobQueue` relies on in procrastinate (see adapters/job_queue.py)."""

    def test_procrastinate_still_defers_through_the_function_we_call(self) -> None:
        assert "procrastinate_defer_jobs_v1(" in sql.queries["defer_jobs"]
        assert "procrastinate_job_to_defer_v1[]" in sql.queries["defer_jobs"]
        assert "procrastinate_defer_jobs_v1(" in str(_DEFER)
        assert manager.QUEUEING_LOCK_CONSTRAINT.startswith(QUEUEING_LOCK_INDEX)

    async def test_the_function_and_type_have_the_shape_we_build(self, shop: Shop) -> None:
        fields = await shop.sql(
            "SELECT string_agg(attname || ' ' || format_type(atttypid, atttypmod), ', ' "
            "ORDER BY attnum) FROM pg_attribute "
            "WHERE attrelid = 'procrastinate_job_to_defer_v1'::regclass AND attnum > 0"
        )
        assert fields == (
            "queue_name character varying, task_name character varying, priority integer, "
            "lock text, queueing_lock text, args jsonb, scheduled_at timestamp with time zone"
        )
        signature = await shop.sql(
            "SELECT pg_get_function_identity_arguments(p.oid) || ' -> ' "
            "|| pg_get_function_result(p.oid) FROM pg_proc p "
            "WHERE proname = 'procrastinate_defer_jobs_v1'"
        )
        assert signature == "jobs procrastinate_job_to_defer_v1[] -> bigint[]"

    async def test_a_job_enqueued_in_our_transaction_is_procrastinates_and_unique(
        self, shop: Shop
    ) -> None:
        async with shop.services.uow() as uow:
            job_id = await uow.jobs.enqueue_submission("ord_contract")
            await uow.commit()
        async with shop.services.uow() as uow:
            with pytest.raises(AlreadyQueuedError) as twin:
                await uow.jobs.enqueue_submission("ord_contract")
        assert twin.value.job_id == job_id
        async with open_job_queue(shop.settings.psycopg_conninfo, stalled_after_s=60) as queue:
            job = await queue.get(job_id)
        expected: dict[str, Any] = {"order_id": "ord_contract"}
        assert (job.task, job.queue, job.state, job.args) == (
            "submit_order",
            "fulfilment",
            "waiting",
            expected,
        )
