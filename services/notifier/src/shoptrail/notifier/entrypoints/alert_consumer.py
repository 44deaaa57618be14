"""The alerts consumer: every event on the bus, in its own group (`notifier-alerts`).

It only notes events that may need the owner's attention and asks for a
dispatch (service_layer/alerting.py). A record it cannot read is skipped and
committed: the notifier's main group, and activity's, already dead-letter
unreadable records, and a second dead letter of the same record would be noise.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage

from shoptrail.events import decode
from shoptrail.events.codec import MalformedEventError
from shoptrail.events.health import Health
from shoptrail.events.logcontext import bind_event_id, event_scope
from shoptrail.notifier.service_layer.alerting import Alerting, note_event

log = logging.getLogger(__name__)

RETRY_WAIT_S = 1.0
"""After a failure to note an event (database away), wait this long before reading it again."""


def subscribe_alerts(
    broker: KafkaBroker,
    *,
    pattern: str,
    group_id: str,
    alerting: Alerting,
    wake_dispatch: Callable[[], Awaitable[None]],
    max_age: timedelta,
    health: Health,
) -> None:
    """Note each warning/error event (newer than `max_age`) and wake the dispatch job."""

    @event_scope
    async def on_message(message: KafkaMessage) -> None:
        record = message.raw_message
        assert not isinstance(record, tuple), "one message at a time"
        try:
            event = decode(record.value or b"")
        except MalformedEventError:
            health.count("skipped_unreadable")
            log.warning("unreadable record skipped", extra={"topic": record.topic})
            return
        bind_event_id(event.id)
        if alerting.clock.now() - event.time > max_age:
            return  # history (a new group reads from the start): not news to alert about
        try:
            if await note_event(event, alerting=alerting):
                await wake_dispatch()
        except Exception:
            log.exception("could not note an event for alerts; reading it again")
            await asyncio.sleep(RETRY_WAIT_S)
            await message.nack()
            return
        health.count("processed")
        health.working()

    broker.subscriber(
        pattern=pattern,
        group_id=group_id,
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.NACK_ON_ERROR,
    )(on_message)
