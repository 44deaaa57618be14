"""A durable Kafka producer that heals itself.

`acks=all` and the idempotent producer, as everywhere (see publisher.py). What
this adds: aiokafka's idempotent producer is wedged for good by some errors (a
broker that restarted lost our producer id, so every send fails with
`OutOfOrderSequenceNumber`; fencing; its sender task died). This one notices,
closes the wedged client and builds a fresh one (a new producer id), so the
next send works without anyone restarting the process. Sends that were in
flight on the old client fail, and their callers retry them, as they do for
any send that was not acknowledged: an event is never reported as written when
it was not. A retry may write a second copy of an event; it carries the same
event id, which every consumer deduplicates.

It also starts without Kafka: the first send (or `start()`) connects, and a
Kafka that is away makes sends fail fast, never the process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka import errors as kafka_errors
from aiokafka.structs import RecordMetadata

from shoptrail.events.failures import describe, is_size_error
from shoptrail.events.health import Health
from shoptrail.events.kafka_access import KafkaAccess, kafka_client_options

log = logging.getLogger(__name__)

DEFAULT_MAX_REQUEST_SIZE = 1_048_576
"""aiokafka's default; records larger than this are refused before they are sent."""

FATAL_PRODUCER_ERRORS: tuple[type[BaseException], ...] = (
    kafka_errors.OutOfOrderSequenceNumber,
    kafka_errors.UnknownProducerId,
    kafka_errors.InvalidProducerEpoch,
    kafka_errors.InvalidProducerIdMapping,
    kafka_errors.ProducerFenced,
    kafka_errors.ProducerClosed,
    kafka_errors.IllegalStateError,
)
"""After one of these the aiokafka client never sends again: it must be replaced."""


class Producer:
    """Publishes records durably; rebuilds its client after a fatal error.

    `send()` returns a future resolved by Kafka's acknowledgement (pipelined
    sends), `send_and_wait()` waits for it.
    """

    def __init__(
        self,
        kafka: KafkaAccess | str,
        *,
        client_id: str,
        health: Health | None = None,
        max_request_size: int = DEFAULT_MAX_REQUEST_SIZE,
        **options: Any,
    ) -> None:
        self._options = {
            **kafka_client_options(kafka),
            "client_id": client_id,
            "acks": "all",
            "enable_idempotence": True,
            "max_request_size": max_request_size,
            **options,
        }
        self.max_request_size = max_request_size
        self.health = health or Health(f"producer:{client_id}")
        self._client: AIOKafkaProducer | None = None
        self._wedged = False
        self._lock = asyncio.Lock()
        self._retired: set[asyncio.Task[None]] = set()
        self._closed = False

    async def __aenter__(self) -> Producer:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def start(self) -> None:
        """Connect now if Kafka answers; if not, the first send connects (no error here)."""
        try:
            await self._live()
        except Exception as exc:
            log.warning(
                "Kafka is not reachable yet; sends will connect",
                extra={"component": self.health.component, "error": describe(exc)},
            )

    async def stop(self) -> None:
        """Flush what is pending (bounded by the client's timeouts) and close."""
        self._closed = True
        async with self._lock:
            client, self._client = self._client, None
        if client is not None:
            await client.stop()
        if self._retired:
            await asyncio.gather(*self._retired, return_exceptions=True)

    async def send(
        self,
        topic: str,
        value: bytes,
        *,
        key: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> asyncio.Future[RecordMetadata]:
        """Queue one record; the future resolves once Kafka acknowledged it (acks=all)."""
        client = await self._live()
        encoded = [(name, text.encode()) for name, text in (headers or {}).items()]
        try:
            sent: asyncio.Future[RecordMetadata] = await client.send(
                topic, value, key=key, headers=encoded
            )
        except Exception as exc:
            self._check(client, exc)
            raise
        sent.add_done_callback(lambda done: self._settled(client, done))
        return sent

    async def send_and_wait(
        self,
        topic: str,
        value: bytes,
        *,
        key: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> RecordMetadata:
        """Send one record and wait for Kafka's acknowledgement."""
        return await (await self.send(topic, value, key=key, headers=headers))

    async def ping(self, timeout: float = 2.0) -> bool:
        """A real round trip: ask a broker for the cluster's metadata."""
        try:
            async with asyncio.timeout(timeout):
                client = await self._live()
                await client.client.fetch_all_metadata()
        except Exception:
            return False
        return True

    async def _live(self) -> AIOKafkaProducer:
        """The current client, built (or rebuilt after a fatal error) when needed."""
        client = self._client
        if client is not None and not self._wedged and not _sender_died(client):
            return client
        async with self._lock:
            if self._closed:
                raise kafka_errors.ProducerClosed()
            client = self._client
            if client is not None and (self._wedged or _sender_died(client)):
                self._retire(client)
                client = self._client = None
            if client is None:
                fresh = AIOKafkaProducer(**self._options)
                try:
                    await fresh.start()
                except BaseException:
                    with contextlib.suppress(Exception):
                        await fresh.stop()
                    raise
                self._client, self._wedged = fresh, False
                client = fresh
            return client

    def _retire(self, client: AIOKafkaProducer) -> None:
        """Close a wedged client in the background; its pending sends fail and are retried."""
        self.health.count("rebuilt")
        log.warning(
            "Kafka producer is wedged; replacing it with a new one",
            extra={"component": self.health.component},
        )

        async def close() -> None:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(10):
                    await client.stop()

        task = asyncio.get_running_loop().create_task(close())
        self._retired.add(task)
        task.add_done_callback(self._retired.discard)

    def _settled(self, client: AIOKafkaProducer, done: asyncio.Future[RecordMetadata]) -> None:
        if done.cancelled():
            return
        error = done.exception()
        if error is None:
            self.health.working()
        else:
            self._check(client, error)

    def _check(self, client: AIOKafkaProducer, error: BaseException) -> None:
        """Mark `client` for replacement if `error` means it can never send again."""
        if is_size_error(error):
            return  # this record's fault, not the producer's
        self.health.failing(describe(error))
        if client is self._client and (
            isinstance(error, FATAL_PRODUCER_ERRORS) or _sender_died(client)
        ):
            self._wedged = True


def _sender_died(client: AIOKafkaProducer) -> bool:
    """aiokafka's background sender stopped: nothing queued will ever be sent."""
    sender = getattr(client, "_sender", None)
    task = getattr(sender, "sender_task", None)
    return isinstance(task, asyncio.Task) and task.done()
