"""Kafka down → 503 in bounded time; Kafka back → the retried webhook is in Kafka exactly once.

The shared broker cannot be stopped, so this test starts its own broker with
the local launcher (other ports, its own state folder) and stops and restarts it.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from shoptrail.events.codec import decode
from shoptrail.events.reading import records_to_end
from shoptrail.testing import free_port_block

pytestmark = [pytest.mark.kafka, pytest.mark.slow, pytest.mark.timeout(240)]

LAUNCHER = Path(__file__).resolve().parents[4] / "deploy" / "local" / "stack.py"


class OwnBroker:
    """A Kafka broker this test owns: started, stopped and restarted by the launcher."""

    def __init__(self, state: Path) -> None:
        self.port = free_port_block(2)  # the broker and its controller
        self.bootstrap = f"127.0.0.1:{self.port}"
        self._env = {
            **os.environ,
            "SHOPTRAIL_KAFKA_PORT": str(self.port),
            "SHOPTRAIL_LOCAL_DIR": str(state),
        }

    async def _stack(self, command: str) -> None:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            str(LAUNCHER),
            command,
            "kafka",
            env=self._env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        output, _ = await proc.communicate()
        assert proc.returncode == 0, output.decode()

    async def up(self) -> None:
        await self._stack("up")

    async def down(self) -> None:
        await self._stack("down")


@pytest.fixture
async def own_broker(tmp_path: Path) -> AsyncIterator[OwnBroker]:
    broker = OwnBroker(tmp_path)
    await broker.up()
    try:
        yield broker
    finally:
        await broker.down()


async def _create_topic(bootstrap: str, name: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, 1, replication_factor=1)])
    finally:
        await admin.close()


async def test_outage_answers_503_then_the_retry_is_published_once(
    own_broker: OwnBroker, ingest_client: Any, settings_for: Any, stripe_api: Any, payloads: Any
) -> None:
    topic = "shoptrail.ingest.outage-test"
    await _create_topic(own_broker.bootstrap, topic)
    settings = settings_for(
        topic=topic,
        kafka_bootstrap=own_broker.bootstrap,
        stripe_api_base=stripe_api.url,
        publish_timeout_seconds=3.0,
    )
    event = payloads.stripe_event(
        "charge.refunded", payloads.charge(metadata={"order_id": "ord_outage"}), id="evt_outage"
    )
    body = payloads.body(event)

    async with ingest_client(settings) as client:
        await own_broker.down()
        started = time.monotonic()
        during = await client.post(
            "/webhooks/stripe", content=body, headers=payloads.stripe_headers(body)
        )
        waited = time.monotonic() - started
        assert during.status_code == 503
        assert during.json()["error"] == "unavailable"
        assert waited < 3.0 + 2.0, f"answered after {waited:.1f}s"
        assert (await client.get("/readyz")).status_code == 503

        await own_broker.up()
        # Stripe retries until it gets a 2xx; so does this loop.
        deadline = time.monotonic() + 60
        while True:
            retry = await client.post(
                "/webhooks/stripe", content=body, headers=payloads.stripe_headers(body)
            )
            if retry.status_code == 200 or time.monotonic() > deadline:
                break
            await asyncio.sleep(1)
        assert retry.status_code == 200, retry.text
        metrics = (await client.get("/metrics")).text

    records = await records_to_end(own_broker.bootstrap, [topic])
    assert [decode(r.value).id for r in records] == [decode(records[0].value).id]
    assert str(decode(records[0].value).id) in retry.json()["event_ids"]
    assert 'ingest_webhooks_total{outcome="unavailable",sender="stripe"}' in metrics
