"""Alerts end to end: the real activity app (own database, consuming), the notifier's
consumers and relay on a private topic namespace, a real SMTP server, a manual clock."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from shoptrail.activity.bootstrap import create_app as create_activity
from shoptrail.activity.config import Settings as ActivitySettings
from shoptrail.events import Event, EventData, new_event, topics
from shoptrail.events.fulfilment import OrderSubmissionFailed
from shoptrail.events.producer import Producer
from shoptrail.events.publisher import EventPublisher
from shoptrail.notifier.adapters.activity_client import ActivityEntries
from shoptrail.notifier.adapters.clock import ManualClock
from shoptrail.notifier.adapters.tables import alert_items
from shoptrail.notifier.bootstrap import Notifier, running_consumers
from shoptrail.notifier.domain.alerts import AlertSettings
from shoptrail.notifier.service_layer import alerting
from shoptrail.testing.waiting import eventually

TOKEN = "test-service-token"
ADMIN = "https://admin.example"
OWNER = "owner@samsprints.example"


def failure(order: str, clock: ManualClock) -> Event[EventData]:
    data = OrderSubmissionFailed(
        order_id=order, provider="Printify", reason="out of stock", attempt=1, max_attempts=3
    )
    return new_event(data, source="/tests", time=clock.now())


@dataclass
class Shop:
    """Activity and the notifier on one private namespace of topics."""

    ns: str
    bootstrap: str
    notifier: Notifier
    activity: httpx.AsyncClient

    def topic(self, canonical: str) -> str:
        return canonical.replace("shoptrail.", f"{self.ns}.", 1)

    async def publish(self, events: Sequence[Event[EventData]]) -> None:
        async with Producer(self.bootstrap, client_id="test-producer") as producer:
            await EventPublisher(producer, self.topic(topics.FULFILMENT)).publish_all(list(events))

    async def publish_raw(self, value: bytes) -> None:
        async with Producer(self.bootstrap, client_id="test-producer") as producer:
            await producer.send_and_wait(self.topic(topics.FULFILMENT), value, key=b"x")

    async def configure(self, **chosen: Any) -> None:
        values: dict[str, Any] = {"enabled": True, "email": OWNER, "digest_minutes": 1}
        settings = AlertSettings(**(values | chosen))
        await self.notifier.alerting.store.save_settings(settings, now=self.notifier.clock.now())

    async def items(self, state: str | None = None) -> int:
        stmt = select(func.count()).select_from(alert_items)
        if state is not None:
            stmt = stmt.where(alert_items.c.state == state)
        async with self.notifier.engine.connect() as conn:
            return int(await conn.scalar(stmt) or 0)

    async def open_entries(self, events: Sequence[Event[EventData]]) -> list[dict[str, Any]]:
        ids = [str(e.id) for e in events]
        found: list[dict[str, Any]] = []
        for start in range(0, len(ids), 1000):
            response = await self.activity.post(
                "/api/entries/open", json={"event_ids": ids[start : start + 1000]}
            )
            response.raise_for_status()
            found += response.json()["open"]
        return found

    async def logged_and_noted(self, events: Sequence[Event[EventData]]) -> None:
        """Wait until activity logged every event and the alerts consumer noted each."""
        n = len(events)
        await eventually(lambda: self._all_open(events), f"activity logged {n} events")
        await eventually(self._noted(n), f"alerts consumer noted {n} events")

    async def _all_open(self, events: Sequence[Event[EventData]]) -> bool:
        return len(await self.open_entries(events)) == len(events)

    def _noted(self, n: int) -> Callable[[], Awaitable[bool]]:
        async def check() -> bool:
            return await self.items() >= n

        return check

    async def dispatch(self) -> None:
        await alerting.dispatch(alerting=self.notifier.alerting)

    async def feed_types(self) -> list[str]:
        response = await self.activity.get("/api/feed", params={"include_debug": "true"})
        response.raise_for_status()
        return [entry["event_type"] for entry in response.json()["entries"]]


async def _database(postgres_url: str) -> str:
    name = f"test_{uuid.uuid4().hex[:12]}"
    dsn = make_url(postgres_url).set(drivername="postgresql").render_as_string(False)
    admin = await asyncpg.connect(dsn)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return make_url(postgres_url).set(database=name).render_as_string(hide_password=False)


@pytest.fixture
async def shop(
    make_notifier: Callable[..., Awaitable[Notifier]],
    kafka_bootstrap: str,
    postgres_url: str,
    clock: ManualClock,
) -> AsyncIterator[Shop]:
    ns = f"t{uuid.uuid4().hex[:10]}"
    names = [t.replace("shoptrail.", f"{ns}.", 1) for t in topics.EVENT_TOPICS]
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    await admin.create_topics([NewTopic(n, 3, 1) for n in names])
    activity_db = await _database(postgres_url)
    activity_app = create_activity(
        ActivitySettings(
            environment="test",
            database_url=activity_db,
            service_token=TOKEN,
            consume=True,
            migrate_on_start=True,
            metadata_max_age_ms=1000,
            batch_timeout_ms=50,
            kafka_bootstrap=kafka_bootstrap,
            topic_pattern=rf"^{ns}\.[a-z]+$",
            group_id=f"{ns}-activity",
        )
    )
    notifier = await make_notifier(
        ingest_topic=f"{ns}.ingest",
        fulfilment_topic=f"{ns}.fulfilment",
        notifier_topic=f"{ns}.notifier",
        consumer_group=f"{ns}-notifier",
        alerts_consumer_group=f"{ns}-notifier-alerts",
        alerts_topic_pattern=rf"^{ns}\.[a-z]+$",
        admin_url=ADMIN,
        activity_token=TOKEN,
    )
    transport = httpx.ASGITransport(app=activity_app)
    notifier.alerting.activity = ActivityEntries(
        "http://activity", notifier.settings.activity_token, transport=transport
    )
    try:
        async with (
            activity_app.router.lifespan_context(activity_app),
            httpx.AsyncClient(
                transport=transport,
                base_url="http://activity",
                headers={"Authorization": f"Bearer {TOKEN}"},
            ) as client,
            running_consumers(notifier),
        ):
            yield Shop(ns, kafka_bootstrap, notifier, client)
    finally:
        existing = [t for t in await admin.list_topics() if t.startswith(ns + ".")]
        await admin.delete_topics(existing)
        await admin.close()
