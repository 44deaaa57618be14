"""`shoptrail-ingest reconcile --since 2d` publishes the Stripe events whose delivery failed."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from datetime import UTC, datetime
from typing import Any

import pytest

from shoptrail.events.codec import decode
from shoptrail.events.ids import uuid7_for

pytestmark = pytest.mark.kafka

DAY = 86_400


async def run_cli(*args: str, env: dict[str, str]) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "shoptrail.ingest.entrypoints.cli",
        *args,
        env={**os.environ, **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(proc.communicate(), timeout=60)
    assert proc.returncode is not None
    return proc.returncode, output.decode()


@pytest.fixture
def undelivered(stripe_api: Any, payloads: Any) -> dict[str, int]:
    """Four Stripe events: two undelivered within 2 days, one too old, one delivered."""
    now = int(time.time())
    created = {"evt_missed_order": now - DAY, "evt_missed_refund": now - 3600}
    stripe_api.line_items["cs_test_a1"] = [payloads.line_item()]
    order = payloads.stripe_event(
        "checkout.session.completed",
        payloads.checkout_session(),
        id="evt_missed_order",
        created=now - DAY,
    )
    refund = payloads.stripe_event(
        "charge.refunded",
        payloads.charge(metadata={"order_id": "ord_01J9Z8K4"}),
        id="evt_missed_refund",
        created=now - 3600,
    )
    too_old = payloads.stripe_event(
        "charge.refunded", payloads.charge(), id="evt_old", created=now - 3 * DAY
    )
    delivered = payloads.stripe_event(
        "charge.refunded", payloads.charge(), id="evt_fine", created=now - 60
    )
    for event in (order, refund, too_old):
        event["_delivery_failed"] = True
    stripe_api.events.extend([refund, order, too_old, delivered])
    return created


async def test_reconcile_publishes_undelivered_events_with_their_webhook_ids(
    undelivered: dict[str, int],
    stripe_api: Any,
    new_topic: Any,
    kafka_bootstrap: str,
    read_topic: Any,
) -> None:
    topic = await new_topic("ingest-rec")
    env = {
        "INGEST_ENVIRONMENT": "test",
        "INGEST_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "INGEST_TOPIC": topic,
        "INGEST_STRIPE_API_BASE": stripe_api.url,
        "INGEST_STRIPE_API_KEY": "sk_test_standin",
    }

    code, output = await run_cli("reconcile", "--since", "2d", env=env)

    assert code == 0, output
    assert "checked 2 undelivered Stripe events: 2 published" in output
    records = await read_topic(topic, 2)
    expected = {
        uuid7_for(f"stripe:{evt}", datetime.fromtimestamp(created, UTC))
        for evt, created in undelivered.items()
    }
    assert {decode(r.value).id for r in records} == expected
    assert {decode(r.value).type for r in records} == {"order.created", "order.refunded"}
    [listing] = [q for path, q, _ in stripe_api.requests if path == "/v1/events"]
    assert listing["delivery_success"] == ["false"]
    assert abs(int(listing["created[gte]"][0]) - (time.time() - 2 * DAY)) < 60


async def test_running_reconcile_again_republishes_the_same_event_ids(
    undelivered: dict[str, int],
    stripe_api: Any,
    new_topic: Any,
    kafka_bootstrap: str,
    read_topic: Any,
) -> None:
    topic = await new_topic("ingest-rec")
    env = {
        "INGEST_ENVIRONMENT": "test",
        "INGEST_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "INGEST_TOPIC": topic,
        "INGEST_STRIPE_API_BASE": stripe_api.url,
    }

    for _ in range(2):
        code, output = await run_cli("reconcile", "--since", "2d", env=env)
        assert code == 0, output

    records = await read_topic(topic, 4)
    assert len({decode(r.value).id for r in records}) == 2
