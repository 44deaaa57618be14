"""Entry details and staff notes, on real Kafka and PostgreSQL.

Details: the coordinates an entry shows are where its event was produced.
Notes: published as `order.note_added`, acknowledged before 201, read back by
the consumer onto the order's timeline, kept by a replay, made once however
often the same note is submitted.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from shoptrail.activity.adapters.topic_reader import TopicReader
from shoptrail.activity.service_layer.replay import replay
from shoptrail.events import new_event, topics
from shoptrail.events.ingest import OrderCreated
from shoptrail.events.producer import Producer
from shoptrail.events.publisher import EventPublisher

from ..conftest import Namespace, served_api, settings_for

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]
Eventually = Callable[..., Awaitable[Any]]
HOSTILE = '<script>alert("x")</script>'


async def timeline(api: httpx.AsyncClient, order_id: str) -> list[dict[str, Any]]:
    response = await api.get(f"/api/orders/{order_id}/timeline")
    assert response.status_code == 200, response.text
    rows: list[dict[str, Any]] = response.json()
    return rows


async def test_details_show_the_coordinates_the_event_was_produced_at(
    api: httpx.AsyncClient, namespace: Namespace, eventually: Eventually
) -> None:
    data = OrderCreated.example().model_copy(
        update={"order_id": "ord_det_1", "checkout_session_id": "cs_test_a1B2"}
    )
    event = new_event(data, source="/services/ingest")
    topic = namespace.topic(topics.INGEST)
    async with Producer(namespace.bootstrap, client_id="test-producer") as producer:
        produced = await EventPublisher(producer, topic).publish(event)

    rows = await eventually(lambda: timeline(api, "ord_det_1"))
    response = await api.get(f"/api/entries/{rows[0]['id']}/detail")
    assert response.status_code == 200, response.text
    detail = response.json()
    assert detail["kafka"] == {
        "topic": topic,
        "partition": produced.partition,
        "offset": produced.offset,
    }
    assert detail["event_id"] == str(event.id)
    assert detail["source"] == "/services/ingest"
    assert detail["message"] == event.message
    assert detail["received_at"] >= detail["occurred_at"]
    assert detail["references"]["checkout_session_id"] == "cs_test_a1B2"
    assert detail["references"]["order_number"] == data.order_number
    assert (await api.get("/api/entries/999999/detail")).status_code == 404


async def test_a_note_is_acknowledged_then_shown_on_the_timeline_with_its_author(
    api: httpx.AsyncClient, eventually: Eventually
) -> None:
    response = await api.post(
        "/api/orders/ord_note_1/notes",
        json={"author": "admin", "text": f"  Customer called. {HOSTILE}  "},
    )
    assert response.status_code == 201, response.text
    note = response.json()
    assert note["text"] == f"Customer called. {HOSTILE}"  # trimmed, kept as text

    async def noted() -> list[dict[str, Any]]:
        return [
            e for e in await timeline(api, "ord_note_1") if e["event_type"] == "order.note_added"
        ]

    (entry,) = await eventually(noted)
    assert entry["message"] == f"Note by admin: Customer called. {HOSTILE}"
    assert entry["level"] == "info"
    assert entry["event_id"] == note["note_id"]
    assert entry["payload"]["author"] == "admin"


async def test_the_same_note_submitted_twice_is_one_note(
    api: httpx.AsyncClient, eventually: Eventually
) -> None:
    key = str(uuid.uuid4())
    for _ in range(2):
        response = await api.post(
            "/api/orders/ord_note_2/notes",
            json={"author": "admin", "text": "Refund agreed"},
            headers={"Idempotency-Key": key},
        )
        assert response.status_code == 201, response.text
        assert response.json()["note_id"] == key
    other = await api.post(
        "/api/orders/ord_note_2/notes", json={"author": "admin", "text": "A second note"}
    )
    assert other.status_code == 201

    async def both() -> list[dict[str, Any]] | None:
        rows = await timeline(api, "ord_note_2")
        return rows if any(r["message"].endswith("A second note") for r in rows) else None

    rows = await eventually(both)  # written after the doubled one, on the same partition
    assert [r["message"] for r in rows].count("Note by admin: Refund agreed") == 1
    assert len(rows) == 2


async def test_notes_refuse_what_is_not_a_note(api: httpx.AsyncClient) -> None:
    blank = await api.post("/api/orders/o/notes", json={"author": "admin", "text": " \t "})
    assert blank.status_code == 422
    long = await api.post("/api/orders/o/notes", json={"author": "admin", "text": "x" * 2001})
    assert long.status_code == 422
    nul = await api.post("/api/orders/o/notes", json={"author": "admin", "text": "a\x00b"})
    assert nul.status_code == 400  # the service's door refuses what the store cannot hold
    key = await api.post(
        "/api/orders/o/notes",
        json={"author": "admin", "text": "fine"},
        headers={"Idempotency-Key": "not-a-uuid"},
    )
    assert key.status_code == 422


async def test_a_replay_keeps_notes_and_their_authors(
    api: httpx.AsyncClient, namespace: Namespace, engine: AsyncEngine, eventually: Eventually
) -> None:
    created = OrderCreated.example().model_copy(update={"order_id": "ord_note_3"})
    await namespace.publish([new_event(created, source="/tests")])
    response = await api.post(
        "/api/orders/ord_note_3/notes", json={"author": "sam", "text": "Gift wrap please"}
    )
    assert response.status_code == 201

    async def two() -> list[dict[str, Any]] | None:
        rows = await timeline(api, "ord_note_3")
        return rows if len(rows) == 2 else None

    before = await eventually(two)
    stats = await replay(engine=engine, reader=TopicReader(namespace.bootstrap, namespace.pattern))
    assert stats.swapped
    after = await timeline(api, "ord_note_3")
    assert [r["message"] for r in after] == [r["message"] for r in before]
    assert after[1]["message"] == "Note by sam: Gift wrap please"
    async with engine.connect() as conn:  # the replay kept where each note was read from too
        coords = await conn.scalar(
            text("SELECT kafka_topic FROM activity_log WHERE event_type = 'order.note_added'")
        )
    assert coords == namespace.topic(topics.ACTIVITY)


@pytest.fixture
async def kafka_away_api(
    engine: AsyncEngine, database_url: str
) -> AsyncIterator[httpx.AsyncClient]:
    """The API with no consumer and a Kafka that does not answer (a closed local port)."""
    settings = settings_for(
        database_url, None, kafka_bootstrap="127.0.0.1:9", notes_publish_timeout_s=1.0
    )
    async with served_api(settings) as client:
        yield client


async def test_a_note_while_kafka_is_away_is_a_503_with_retry_after(
    kafka_away_api: httpx.AsyncClient,
) -> None:
    response = await kafka_away_api.post(
        "/api/orders/o/notes", json={"author": "admin", "text": "hello"}
    )
    assert response.status_code == 503, response.text
    assert int(response.headers["Retry-After"]) > 0
