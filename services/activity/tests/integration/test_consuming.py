"""Every topic into one log, once — on real Kafka and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from shoptrail.events import REGISTRY, Event, EventData, new_event, topics
from shoptrail.events.fulfilment import OrderShipped, OrderSubmitted
from shoptrail.events.producer import Producer
from shoptrail.events.publisher import EventPublisher
from shoptrail.events.system import EventDeadLettered

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]

Eventually = Callable[..., Awaitable[Any]]


async def feed(api: httpx.AsyncClient, **params: Any) -> dict[str, Any]:
    response = await api.get("/api/feed", params={"include_debug": True, "limit": 200} | params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_every_event_type_appears_once_and_republishing_adds_nothing(
    api: httpx.AsyncClient, namespace: Any, eventually: Eventually
) -> None:
    events: list[Event[EventData]] = [
        new_event(cls.example(), source="/tests") for cls in REGISTRY.types()
    ]
    await namespace.publish(events)

    async def all_logged() -> dict[str, Any] | None:
        page = await feed(api)
        return page if page["total"] >= len(events) else None

    page = await eventually(all_logged)
    by_id = {e["event_id"]: e for e in page["entries"]}
    assert len(by_id) == len(events) == page["total"]
    for event in events:
        entry = by_id[str(event.id)]
        assert entry["event_type"] == event.type
        assert entry["level"] == event.level.value
        assert entry["category"] == event.category.value
        assert entry["message"] == event.message
        assert entry["payload"] == event.data.model_dump(mode="json")
        assert entry["order_id"] == event.subject

    await namespace.publish(events)  # redelivery, a replayed producer, a retried outbox…
    marker = new_event(OrderShipped.example(), source="/tests")
    await namespace.publish([marker])
    await eventually(
        lambda: _has(api, str(marker.id)),
    )
    assert (await feed(api))["total"] == len(events) + 1


async def _has(api: httpx.AsyncClient, event_id: str) -> bool:
    return any(e["event_id"] == event_id for e in (await feed(api))["entries"])


async def test_a_poison_message_is_dead_lettered_logged_as_an_error_and_its_partition_flows(
    api: httpx.AsyncClient, namespace: Any, eventually: Eventually, read_topic: Any
) -> None:
    key = b"ord_01J9Z8K4"  # same key: same partition as the events around it
    before = new_event(OrderSubmitted.example(), source="/tests")
    after = new_event(OrderShipped.example(), source="/tests")
    await namespace.publish([before])
    await namespace.publish_raw(topics.FULFILMENT, b'{"specversion": "1.0", "type": ', key=key)
    await namespace.publish([after])

    await eventually(lambda: _has(api, str(after.id)))
    errors = (await feed(api, tab="attention"))["entries"]
    (dead,) = [e for e in errors if e["event_type"] == EventDeadLettered.TYPE]
    topic = namespace.topic(topics.FULFILMENT)
    assert dead["message"].startswith(f"Unreadable event on {topic} @ partition ")
    assert dead["level"] == "error"
    assert dead["category"] == "system"
    assert "not valid JSON" in dead["payload"]["error"]

    (copy,) = await read_topic(f"{topic}.dlq", 1)
    assert copy.value == b'{"specversion": "1.0", "type": '
    assert dict(copy.headers)["dlq-original-offset"] == str(dead["payload"]["offset"]).encode()


async def test_a_new_producers_topic_is_picked_up_without_a_code_change(
    api: httpx.AsyncClient, namespace: Any, eventually: Eventually
) -> None:
    newcomer = new_event(OrderShipped.example(), source="/services/newcomer")
    async with Producer(namespace.bootstrap, client_id="newcomer") as producer:
        await EventPublisher(producer, f"{namespace.name}.newcomer").publish(newcomer)
    await eventually(lambda: _has(api, str(newcomer.id)), timeout=45)


async def test_a_record_at_the_brokers_size_limit_is_set_aside_by_reference_and_the_rest_flow(
    api: httpx.AsyncClient, namespace: Any, eventually: Eventually, read_topic: Any
) -> None:
    key = b"ord_01J9Z8K4"
    huge = b'{"specversion":"1.0","type":"order.shipped","pad":"' + b"x" * 1_048_300 + b'"}'
    behind = [new_event(OrderShipped.example(), source="/tests") for _ in range(20)]
    await namespace.publish_raw(topics.FULFILMENT, huge, key=key)
    await namespace.publish(behind)

    for event in behind:
        await eventually(lambda event=event: _has(api, str(event.id)))
    errors = (await feed(api, tab="attention"))["entries"]
    (dead,) = [e for e in errors if e["event_type"] == EventDeadLettered.TYPE]
    assert dead["payload"]["by_reference"] is True
    assert dead["order_id"] == key.decode()  # on the order's timeline
    topic = namespace.topic(topics.FULFILMENT)
    (reference,) = await read_topic(f"{topic}.dlq", 1)
    headers = {k: v.decode() for k, v in reference.headers}
    assert headers["dlq-reference"] == "true"
    assert headers["dlq-original-offset"] == str(dead["payload"]["offset"])
    assert json.loads(reference.value)["size_bytes"] == len(huge)
