"""A real SMTP server (aiosmtpd), a migrated database and an assembled notifier per test."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any, cast

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiosmtpd.controller import Controller
from sqlalchemy import select

from shoptrail.events import Event, EventData, decode
from shoptrail.notifier.adapters.clock import ManualClock
from shoptrail.notifier.adapters.migrations import migrate
from shoptrail.notifier.adapters.tables import event_outbox
from shoptrail.notifier.bootstrap import Notifier, build_notifier
from shoptrail.notifier.config import Settings
from shoptrail.notifier.domain.model import ShopSettings
from shoptrail.notifier.service_layer.shop_settings import update_settings
from shoptrail.testing import free_port

START = datetime(2026, 2, 23, 9, 0, tzinfo=UTC)
SHOP = ShopSettings(sender_name="Sam's Prints", sender_address="hello@samsprints.shop")


class RecordingHandler:
    """Accepts mail and keeps it; refuses the recipients in `refuse` and the senders in
    `refuse_senders` with the given reply (e.g. "553 5.7.1 Sender address rejected")."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.raw: list[bytes] = []
        """Each accepted message's bytes exactly as they came over the wire."""
        self.refuse: dict[str, str] = {}
        self.refuse_senders: dict[str, str] = {}
        self.senders: list[str] = []

    async def handle_MAIL(  # noqa: N802 (aiosmtpd's hook name)
        self, server: Any, session: Any, envelope: Any, address: str, mail_options: Any
    ) -> str:
        self.senders.append(address)
        if address in self.refuse_senders:
            return self.refuse_senders[address]
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(  # noqa: N802 (aiosmtpd's hook name)
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any
    ) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        content = cast(bytes, envelope.content)
        self.raw.append(content)
        self.messages.append(message_from_bytes(content, policy=policy.default))
        return "250 Message accepted for delivery"


class SmtpServer:
    def __init__(self, handler: RecordingHandler, port: int) -> None:
        self.handler = handler
        self.port = port

    @property
    def messages(self) -> list[EmailMessage]:
        return self.handler.messages

    @property
    def raw(self) -> list[bytes]:
        return self.handler.raw


def _smtp_server(**server_kwargs: Any) -> Iterator[SmtpServer]:
    handler = RecordingHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port(), **server_kwargs)
    controller.start()
    try:
        yield SmtpServer(handler, controller.port)
    finally:
        controller.stop()


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    """A real SMTP server on a free local port, recording what it accepts."""
    yield from _smtp_server()


@pytest.fixture
def ascii_smtp() -> Iterator[SmtpServer]:
    """A real SMTP server without SMTPUTF8: it takes ASCII addresses only, as many do."""
    yield from _smtp_server(enable_SMTPUTF8=False)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


NotifierFactory = Callable[..., Awaitable[Notifier]]


@pytest.fixture
async def make_notifier(
    database_url: str,
    kafka_bootstrap: str,
    smtp: SmtpServer,
    clock: ManualClock,
    tmp_path: Path,
) -> AsyncIterator[NotifierFactory]:
    """Builds a notifier on a fresh, migrated database with the shop's sender set."""
    await migrate(database_url)
    built: list[Notifier] = []

    async def make(**overrides: Any) -> Notifier:
        suffix = uuid.uuid4().hex[:8]
        values: dict[str, Any] = {
            "environment": "test",
            "database_url": database_url,
            "kafka_bootstrap": kafka_bootstrap,
            "smtp_port": smtp.port,
            "smtp_security": "none",
            "email_max_attempts": 3,
            "email_retry_wait_s": 0,
            "consumer_group": f"notifier-{suffix}",
            "notifier_topic": f"test-notifier-{suffix}",
            # the alerts consumer reads only this test's own topic, in its own group
            "alerts_consumer_group": f"notifier-alerts-{suffix}",
            "alerts_topic_pattern": rf"^test-notifier-{suffix}$",
            "state_dir": tmp_path / "state",
        }
        notifier = build_notifier(
            Settings(**(values | overrides)), clock=clock, periodic_tasks=False
        )
        await notifier.jobs.open_async()
        await update_settings(settings=SHOP, uow=notifier.uow(), clock=clock, queue=notifier.queue)
        built.append(notifier)
        return notifier

    yield make
    for notifier in built:
        await notifier.jobs.close_async()
        await notifier.aclose()


@pytest.fixture
async def notifier(make_notifier: NotifierFactory) -> Notifier:
    return await make_notifier()


async def _run_jobs(notifier: Notifier, concurrency: int = 1) -> None:
    await notifier.jobs.run_worker_async(
        wait=False, install_signal_handlers=False, listen_notify=False, concurrency=concurrency
    )


async def _staged_events(notifier: Notifier) -> list[Event[EventData]]:
    async with notifier.engine.connect() as conn:
        rows = await conn.scalars(select(event_outbox.c.value).order_by(event_outbox.c.id))
        return [decode(value) for value in rows]


@pytest.fixture
def run_jobs() -> Callable[..., Awaitable[None]]:
    """Runs every job due now, then returns (no sleeping, no waiting for more)."""
    return _run_jobs


@pytest.fixture
def staged_events() -> Callable[[Notifier], Awaitable[list[Event[EventData]]]]:
    """The events waiting in the notifier's outbox, oldest first."""
    return _staged_events


@pytest.fixture
def wait_until_consumed(kafka_bootstrap: str) -> Callable[..., Awaitable[None]]:
    """Waits until a consumer group has committed every record now on some topics."""

    async def wait(group: str, topics: list[str], timeout: float = 45) -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
        consumer = AIOKafkaConsumer(bootstrap_servers=kafka_bootstrap, group_id=None)
        await admin.start()
        await consumer.start()
        try:
            await consumer._client.force_metadata_update()
            partitions = [
                TopicPartition(topic, partition)
                for topic in topics
                for partition in consumer.partitions_for_topic(topic) or ()
            ]
            ends = await consumer.end_offsets(partitions)
            async with asyncio.timeout(timeout):
                while True:
                    committed = await admin.list_consumer_group_offsets(group)
                    if all(
                        tp in committed and committed[tp].offset >= end
                        for tp, end in ends.items()
                        if end > 0
                    ):
                        return
                    await asyncio.sleep(0.2)
        finally:
            await consumer.stop()
            await admin.close()

    return wait
