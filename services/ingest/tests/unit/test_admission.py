"""Admission: ingest answers fast or refuses at once with 503 and Retry-After, never queues."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from shoptrail.events.envelope import Event
from shoptrail.ingest.adapters.kafka import KafkaEventSink
from shoptrail.ingest.bootstrap import create_app
from shoptrail.ingest.config import Settings
from shoptrail.ingest.entrypoints.admission import Admission, AdmissionMiddleware, Door, LoopLag
from shoptrail.ingest.metrics import IngestMetrics


async def until(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    """Wait for a condition the code under test brings about (never a fixed sleep)."""
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.005)


class TestLoopLag:
    def lag(self, samples: list[tuple[float, float]], now: float) -> LoopLag:
        lag = LoopLag(interval=0.05, window=1.0, clock=lambda: now)
        for at, late in samples:
            lag.record(at, late)
        return lag

    def test_unknown_until_two_samples(self) -> None:
        assert self.lag([(0.0, 3.0)], now=0.0).behind() == 0.0

    def test_a_loop_late_all_through_the_window_is_behind(self) -> None:
        samples = [(10 + i * 0.35, 0.3 + 0.01 * (i % 3)) for i in range(4)]
        assert self.lag(samples, now=11.1).behind() == pytest.approx(0.3)

    def test_one_slow_step_is_not_being_behind(self) -> None:
        samples = [(10 + i * 0.05, 0.002) for i in range(20)]
        samples[10] = (10.5, 2.0)  # a two-second garbage collection, once
        assert self.lag(samples, now=11.0).behind() == pytest.approx(0.002)

    def test_old_samples_leave_the_window(self) -> None:
        samples = [(10.0, 0.9), (10.1, 0.9)] + [(11 + i * 0.05, 0.001) for i in range(5)]
        assert self.lag(samples, now=11.3).behind() == pytest.approx(0.001)

    async def test_the_real_sampler_sees_a_blocked_loop_then_a_free_one(self) -> None:
        admission = Admission(
            max_in_flight=10,
            max_waiting=10,
            deadline=5.0,
            max_loop_lag=0.1,
            retry_after=5,
            metrics=IngestMetrics(),
            lag=LoopLag(interval=0.01, window=0.3),
        )
        async with admission.sampling():
            await until(lambda: len(admission.lag._samples) >= 2)
            for _ in range(6):  # the loop kept busy: every wake-up comes 0.15 s late or more
                time.sleep(0.15)  # noqa: ASYNC251 - blocking the loop is the point
                await asyncio.sleep(0)
            assert admission.refusal() == "loop_lag"
            await until(lambda: admission.refusal() is None)


class TestDoor:
    def test_counts_the_connections_waiting_to_be_taken(self) -> None:
        with socket.create_server(("127.0.0.1", 0), backlog=50) as listening:
            door = Door(listening)
            assert door.waiting() == 0
            clients = [socket.create_connection(listening.getsockname()) for _ in range(5)]
            try:
                assert door.waiting() == 5  # the kernel completed them; nobody took them
                taken, _ = listening.accept()
                taken.close()
                assert door.waiting() == 4
                admitted = admission(max_waiting=3, door=door)
                assert admitted.refusal() == "waiting"
                admitted.max_waiting = 4
                assert admitted.refusal() is None
            finally:
                for client in clients:
                    client.close()


def admission(**limits: Any) -> Admission:
    values: dict[str, Any] = {
        "max_in_flight": 2,
        "max_waiting": 3,
        "deadline": 5.0,
        "max_loop_lag": 0.5,
        "retry_after": 7,
        "metrics": IngestMetrics(),
    }
    values.update(limits)
    return Admission(**values)


def gated_app(gate: asyncio.Event, admitted: Admission) -> Starlette:
    async def webhook(_: Request) -> JSONResponse:
        await gate.wait()
        return JSONResponse({"status": "published"})

    async def health(_: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    app = Starlette(
        routes=[Route("/webhooks/x", webhook, methods=["POST"]), Route("/healthz", health)]
    )
    app.add_middleware(AdmissionMiddleware, admission=admitted)
    return app


async def client_for(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://ingest") as client:
        yield client


class TestAdmissionMiddleware:
    async def test_past_the_in_flight_bound_a_webhook_is_refused_at_once(self) -> None:
        gate, admitted = asyncio.Event(), admission(max_in_flight=2)
        async for http in client_for(gated_app(gate, admitted)):
            held = [asyncio.create_task(http.post("/webhooks/x")) for _ in range(2)]
            await until(lambda: admitted.in_flight == 2)
            refused = await http.post("/webhooks/x")
            assert refused.status_code == 503
            assert refused.headers["retry-after"] == "7"
            assert refused.json()["error"] == "overloaded"
            assert (await http.get("/healthz")).status_code == 200  # only webhooks are shed
            gate.set()
            assert [r.status_code for r in await asyncio.gather(*held)] == [200, 200]
            assert (await http.post("/webhooks/x")).status_code == 200
            assert admitted.in_flight == 0
        metrics = admitted.metrics.exposition().decode()
        assert 'ingest_webhooks_shed_total{reason="in_flight"} 1.0' in metrics

    async def test_a_webhook_past_its_deadline_is_answered_503_and_its_work_cancelled(
        self,
    ) -> None:
        gate, admitted = asyncio.Event(), admission(deadline=0.2)  # the gate never opens
        async for http in client_for(gated_app(gate, admitted)):
            response = await http.post("/webhooks/x")
        assert response.status_code == 503
        assert response.headers["retry-after"] == "7"
        assert "deadline" in response.json()["detail"]
        assert admitted.in_flight == 0
        assert 'reason="deadline"} 1.0' in admitted.metrics.exposition().decode()

    async def test_a_loop_that_is_behind_refuses_webhooks(self) -> None:
        gate, admitted = asyncio.Event(), admission()
        gate.set()
        now = time.monotonic()
        admitted.lag.record(now - 0.2, 0.8)
        admitted.lag.record(now, 0.9)
        async for http in client_for(gated_app(gate, admitted)):
            assert (await http.post("/webhooks/x")).status_code == 503
            admitted.max_loop_lag = 0  # 0 turns the check off
            assert (await http.post("/webhooks/x")).status_code == 200


class SlowPublisher:
    """Stands in for EventPublisher: each send waits until the test lets Kafka answer."""

    def __init__(self) -> None:
        self.acked = asyncio.Event()
        self.sent: list[Event[Any]] = []

    async def publish(self, event: Event[Any]) -> None:
        self.sent.append(event)
        await self.acked.wait()


def printify_shipment() -> bytes:
    shipped = datetime.now(UTC) - timedelta(hours=1)
    return json.dumps(
        {
            "id": "653b6be8-2ff7-4ab5-a7a6-6889a8b3bbf5",
            "type": "order:shipment:created",
            "created_at": shipped.isoformat(sep=" "),
            "resource": {
                "id": "5a96f649b2439217d070f507",
                "type": "order",
                "data": {
                    "shop_id": 815256,
                    "external_id": "ord_01J9Z8K4",
                    "shipped_at": shipped.isoformat(sep=" "),
                    "carrier": {"code": "DHL", "tracking_number": "1Z9", "tracking_url": None},
                },
            },
        }
    ).encode()


async def test_a_webhook_cut_off_by_its_deadline_is_published_once_and_its_retry_taken() -> None:
    """Nothing half-published: the send outlives the 503, the sender's retry joins it."""
    secret = "printify-admission-secret-0123"
    app = create_app(
        Settings(environment="test", printify_webhook_secret=secret, deadline_seconds=0.3)
    )
    publisher = SlowPublisher()
    app.state.runtime.sink = KafkaEventSink(publisher, timeout=60)  # type: ignore[arg-type]
    body = printify_shipment()
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    headers = {"X-Pfy-Signature": f"sha256={digest}", "Content-Type": "application/json"}

    async def send() -> httpx.Response:
        async for http in client_for(app):
            return await http.post("/webhooks/printify", content=body, headers=headers)
        raise AssertionError("unreachable")

    first = await send()
    assert first.status_code == 503
    assert first.json()["error"] == "overloaded"
    publisher.acked.set()  # Kafka acknowledges the send the 503 left running
    await until(lambda: app.state.runtime.sink.in_flight == 0)
    retried: Awaitable[httpx.Response] = send()
    assert (await retried).status_code == 200
    assert len(publisher.sent) == 1
