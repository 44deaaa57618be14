"""Alerts to the owner: note events that may need attention, and send at a measured pace.

The consumer only *notes* an event (idempotent on its id) and asks for a
dispatch. The dispatch, one at a time (a job lock), asks activity which of the
waiting events are open entries — at send time, so resolved ones are dropped —
and sends: the first alert at once, then at most one digest per interval,
never in quiet hours. It returns when it wants to run again. A failed alert is
one `alert.failed` event; `alert.*` events never alert (catalog.alerts_about).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any

import httpx

from shoptrail.events import Event, EventData
from shoptrail.events.catalog import alerts_about
from shoptrail.events.notifier import AlertFailed, AlertSent
from shoptrail.notifier.adapters.activity_client import ActivityEntries
from shoptrail.notifier.adapters.alert_store import AlertStore
from shoptrail.notifier.adapters.webhook import post_alert
from shoptrail.notifier.domain import alerts
from shoptrail.notifier.domain.alerts import AlertItem, AlertSettings
from shoptrail.notifier.service_layer.emitting import notifier_event
from shoptrail.notifier.service_layer.ports import Clock, Mailer

log = logging.getLogger(__name__)

UNLOGGED_RETRY = timedelta(seconds=2)
"""activity has not stored an event yet: ask again this soon."""
ACTIVITY_DOWN_RETRY = timedelta(seconds=30)


@dataclass
class Alerting:
    """What alerting needs, assembled once (bootstrap)."""

    store: AlertStore
    activity: ActivityEntries
    mailer: Mailer
    clock: Clock
    admin_url: str
    sender: Address
    unlogged_max_age: timedelta
    webhook_timeout_s: float = 10.0
    webhook_transport: httpx.AsyncBaseTransport | None = None


async def note_event(event: Event[EventData], *, alerting: Alerting) -> bool:
    """Keep an event that may need an alert; True when it is new (a dispatch is due)."""
    if not alerts_about(type(event.data)):
        return False
    return await alerting.store.add(event.id, now=alerting.clock.now())


async def dispatch(*, alerting: Alerting) -> datetime | None:
    """Send what is due; when to run again (None: nothing waits)."""
    store, now = alerting.store, alerting.clock.now()
    waiting = await store.waiting()
    if not waiting:
        return None
    chosen, last_sent_at = await store.settings()
    if not chosen.delivers:
        await store.finish([w.event_id for w in waiting], "dropped", now=now)
        return None
    when = alerts.next_send_at(chosen, last_sent_at, now)
    if when > now:
        return when
    try:
        answer = await alerting.activity.which_open([w.event_id for w in waiting])
    except httpx.HTTPError as error:
        log.warning("activity did not answer", extra={"error": type(error).__name__})
        return now + ACTIVITY_DOWN_RETRY
    too_old = {
        w.event_id
        for w in waiting
        if w.event_id in answer.unlogged and now - w.seen_at > alerting.unlogged_max_age
    }
    await store.finish(answer.closed | too_old, "dropped", now=now)
    if not answer.open:
        still = answer.unlogged - too_old
        return now + UNLOGGED_RETRY if still else None
    items = sorted(answer.open.values(), key=lambda item: item.entry_id)
    events = await _deliver(chosen, items, alerting=alerting)
    delivered = any(isinstance(e.data, AlertSent) for e in events)
    await store.finish(
        list(answer.open), "sent" if delivered else "failed", now=now, events=events, sent_at=now
    )
    remaining = answer.unlogged - too_old
    return alerts.next_send_at(chosen, now, now) if remaining else None


async def _deliver(
    chosen: AlertSettings, items: list[AlertItem], *, alerting: Alerting
) -> list[Event[Any]]:
    """Send by each configured channel; one `alert.sent` or `alert.failed` per channel."""
    alert_id = f"alr_{uuid.uuid4().hex}"
    digest, count = len(items) > 1, len(items)
    outcomes: list[EventData] = []
    if chosen.email:
        try:
            await alerting.mailer.send(_email(chosen.email, items, alerting=alerting))
            sent = AlertSent(alert_id=alert_id, channel="email", items=count, digest=digest)
            outcomes.append(sent)
        except Exception as error:  # any failure: said once, as an entry, never retried here
            outcomes.append(_failed(alert_id, "email", count, error))
    if chosen.webhook_url:
        text = alerts.slack_text(items, admin_url=alerting.admin_url)
        try:
            await post_alert(
                chosen.webhook_url,
                text,
                secret=chosen.webhook_secret,
                timestamp=int(alerting.clock.now().timestamp()),
                timeout=alerting.webhook_timeout_s,
                transport=alerting.webhook_transport,
            )
            outcomes.append(
                AlertSent(alert_id=alert_id, channel="webhook", items=count, digest=digest)
            )
        except Exception as error:
            outcomes.append(_failed(alert_id, "webhook", count, error))
    for outcome in outcomes:
        log.info("alert", extra={"type": outcome.TYPE, "items": count})
    return [notifier_event(o, clock=alerting.clock) for o in outcomes]


def _failed(alert_id: str, channel: str, count: int, error: Exception) -> AlertFailed:
    reason = f"{type(error).__name__}: {error}".strip(": ")[:500]
    return AlertFailed(alert_id=alert_id, channel=channel, items=count, reason=reason)


def _email(recipient: str, items: list[AlertItem], *, alerting: Alerting) -> EmailMessage:
    message = EmailMessage()
    message["From"] = alerting.sender
    message["To"] = recipient
    message["Subject"] = alerts.subject(items)
    message["Date"] = format_datetime(alerting.clock.now())
    message["Message-ID"] = make_msgid(domain=alerting.sender.domain or "shoptrail.invalid")
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies to alerts
    message.set_content(alerts.body(items, admin_url=alerting.admin_url))
    return message
