"""The notifier's jobs for the operator: `/api/jobs` and `shoptrail-notifier jobs`."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from shoptrail.events import new_event
from shoptrail.events.ingest import OrderCreated
from shoptrail.kit.jobs import record_job_errors
from shoptrail.notifier.adapters.jobs import SEND_EMAIL, psycopg_conninfo
from shoptrail.notifier.bootstrap import Notifier, create_app
from shoptrail.notifier.service_layer import orders
from shoptrail.testing.jobs import fail_a_job, queue_a_job

pytestmark = pytest.mark.postgres

TOKEN = "test-service-token"
CUSTOMER = "customer@example.com"


@pytest.fixture
async def api(make_notifier: Any) -> AsyncIterator[tuple[httpx.AsyncClient, Notifier]]:
    notifier: Notifier = await make_notifier(service_token=TOKEN)
    app = create_app(notifier.settings, notifier, run_consumers=False)
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://notifier", headers=headers
        ) as http,
    ):
        yield http, notifier


def conninfo(notifier: Notifier) -> str:
    return psycopg_conninfo(notifier.settings.database_url)


class TestApi:
    async def test_jobs_need_the_service_token(
        self, api: tuple[httpx.AsyncClient, Notifier]
    ) -> None:
        http, _ = api
        assert (await http.get("/api/jobs", headers={"Authorization": ""})).status_code == 401
        wrong = {"Authorization": "Bearer nope"}
        assert (await http.post("/api/jobs/1/retry", headers=wrong)).status_code == 401

    async def test_an_email_the_server_refuses_waits_for_its_retry_with_a_safe_last_error(
        self, make_notifier: Any, smtp: Any
    ) -> None:
        notifier: Notifier = await make_notifier(
            service_token=TOKEN, email_max_attempts=5, email_retry_wait_s=3600
        )
        smtp.handler.refuse[CUSTOMER] = f"451 4.3.0 mailbox {CUSTOMER} busy"
        event = new_event(OrderCreated.example(), source="/services/ingest")
        await orders.on_order_created(
            event=event, uow=notifier.uow(), queue=notifier.queue, clock=notifier.clock
        )
        await notifier.jobs.run_worker_async(
            wait=False,
            install_signal_handlers=False,
            listen_notify=False,
            worker_middleware=[record_job_errors()],
        )
        app = create_app(notifier.settings, notifier, run_consumers=False)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app),
                base_url="http://notifier",
                headers={"Authorization": f"Bearer {TOKEN}"},
            ) as http,
        ):
            (waiting,) = (await http.get("/api/jobs", params={"state": "waiting"})).json()
            refused = await http.post(f"/api/jobs/{waiting['id']}/retry")
        assert (waiting["task"], waiting["attempts"]) == (SEND_EMAIL, 1)
        assert waiting["scheduled_at"] is not None  # its retry, after the backoff
        assert "451" in waiting["last_error"] and CUSTOMER not in waiting["last_error"]
        assert refused.status_code == 409  # it will be retried already

    async def test_cancel_a_waiting_job_once(self, api: tuple[httpx.AsyncClient, Notifier]) -> None:
        http, notifier = api
        job_id = await queue_a_job(
            conninfo(notifier), "notifier.prune_abandoned_carts", timestamp=0
        )
        (waiting,) = (await http.get("/api/jobs", params={"state": "waiting"})).json()
        assert waiting["id"] == job_id and waiting["scheduled_at"] is not None
        cancelled = await http.post(f"/api/jobs/{job_id}/cancel")
        assert (cancelled.status_code, cancelled.json()["state"]) == (200, "cancelled")
        again = await http.post(f"/api/jobs/{job_id}/cancel")
        assert again.status_code == 409 and "is cancelled" in again.json()["detail"]
        assert (await http.post("/api/jobs/999/cancel")).status_code == 404
        assert (await http.get("/api/jobs", params={"state": "waiting"})).json() == []


async def test_the_cli_lists_and_refuses_with_one_line(notifier: Notifier) -> None:
    job_id = await fail_a_job(conninfo(notifier), SEND_EMAIL, email_id="e-1")
    env = os.environ | {
        "NOTIFIER_ENVIRONMENT": "test",
        "NOTIFIER_DATABASE_URL": notifier.settings.database_url,
    }

    async def cli(*args: str) -> tuple[int, str, str]:
        process = await asyncio.create_subprocess_exec(
            str(Path(sys.executable).parent / "shoptrail-notifier"),
            "jobs",
            *args,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await process.communicate()
        assert process.returncode is not None
        return process.returncode, out.decode(), err.decode()

    status, out, _ = await cli("list", "--state", "failed", "--json")
    assert status == 0 and [j["id"] for j in json.loads(out)] == [job_id]
    status, _, err = await cli("cancel", str(job_id))
    assert (status, err) == (
        1,
        f"error: job {job_id} is failed: only a waiting job can be cancelled\n",
    )
    assert (await cli("retry", "77"))[:2] == (1, "")


async def test_before_the_app_has_started_jobs_answer_503(make_notifier: Any) -> None:
    notifier: Notifier = await make_notifier(service_token=TOKEN)
    app = create_app(notifier.settings, notifier, run_consumers=False)  # no lifespan run
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://notifier",
        headers={"Authorization": f"Bearer {TOKEN}"},
    ) as http:
        answer = await http.get("/api/jobs")
    assert (answer.status_code, answer.json()) == (503, {"detail": "the job queue is not open"})
