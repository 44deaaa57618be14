"""Alert emails end to end: real Kafka, activity on real PostgreSQL, a real SMTP server."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import time, timedelta
from typing import Any

import pytest

from shoptrail.notifier.adapters.clock import ManualClock
from shoptrail.notifier.bootstrap import Notifier
from shoptrail.testing.waiting import eventually

from .conftest import ADMIN, OWNER, Shop, failure

pytestmark = [pytest.mark.kafka, pytest.mark.postgres, pytest.mark.slow, pytest.mark.timeout(600)]

RunJobs = Callable[..., Awaitable[None]]


def text_of(message: Any) -> str:
    return str(message.get_body(preferencelist=("plain",)).get_content())


async def test_first_error_is_emailed_at_once_with_a_link_to_its_entry(
    shop: Shop, smtp: Any, clock: ManualClock, run_jobs: RunJobs
) -> None:
    await shop.configure()
    event = failure("ord_FIRST1", clock)

    await shop.publish([event])
    await shop.logged_and_noted([event])
    await run_jobs(shop.notifier)

    [email] = smtp.messages
    [entry] = await shop.open_entries([event])
    assert email["To"] == OWNER
    assert "Needs attention" in email["Subject"]
    assert f"{ADMIN}/admin/entries/{entry['entry_id']}" in text_of(email)
    assert email["Auto-Submitted"] == "auto-generated"
    # the alert is an event like any other: activity logs it as sent
    await eventually(lambda: _logged(shop, "alert.sent"), "alert.sent in the activity log")


async def _logged(shop: Shop, event_type: str) -> bool:
    return event_type in await shop.feed_types()


async def test_a_storm_of_1000_errors_sends_one_email_then_one_digest_without_resolved(
    shop: Shop, smtp: Any, clock: ManualClock, run_jobs: RunJobs
) -> None:
    await shop.configure(digest_minutes=1)
    first = failure("ord_STORM0", clock)
    await shop.publish([first])
    await shop.logged_and_noted([first])
    await run_jobs(shop.notifier)
    assert len(smtp.messages) == 1

    storm = [failure(f"ord_STORM{i}", clock) for i in range(1, 1000)]
    await shop.publish(storm)
    await shop.logged_and_noted([first, *storm])
    resolved = await shop.open_entries(storm[:2])
    for entry in resolved:
        done = await shop.activity.post(f"/api/entries/{entry['entry_id']}/resolve", json={})
        assert done.status_code == 200, done.text
    await run_jobs(shop.notifier)  # woken by the storm, but the digest is not due yet
    await shop.dispatch()
    assert len(smtp.messages) == 1

    clock.advance(timedelta(minutes=1))
    await shop.dispatch()

    assert len(smtp.messages) == 2
    digest = text_of(smtp.messages[1])
    assert smtp.messages[1]["Subject"] == "997 entries need attention"
    # The 997 are one failure (same type and reason): one line, counted, linking its group.
    assert "(997 times)" in digest
    assert digest.count(f"{ADMIN}/admin/activity/groups/") == 1
    assert "/admin/entries/" not in digest
    assert await shop.items("sent") == 998 and await shop.items("dropped") == 2
    clock.advance(timedelta(minutes=5))
    await shop.dispatch()
    assert len(smtp.messages) == 2


async def test_quiet_hours_defer_the_alert_to_their_end(
    shop: Shop, smtp: Any, clock: ManualClock, run_jobs: RunJobs
) -> None:
    # the clock reads 09:00 UTC = 10:00 in Paris (February)
    await shop.configure(quiet_start=time(9, 30), quiet_end=time(10, 30), timezone="Europe/Paris")
    event = failure("ord_QUIET1", clock)
    await shop.publish([event])
    await shop.logged_and_noted([event])

    await run_jobs(shop.notifier)
    await shop.dispatch()
    assert smtp.messages == []

    clock.advance(timedelta(minutes=29))
    await shop.dispatch()
    assert smtp.messages == []
    clock.advance(timedelta(minutes=1))
    await shop.dispatch()
    assert len(smtp.messages) == 1


async def test_a_redelivered_event_does_not_alert_twice(
    shop: Shop, smtp: Any, clock: ManualClock, run_jobs: RunJobs
) -> None:
    await shop.configure()
    event = failure("ord_TWICE1", clock)
    await shop.publish([event])
    await shop.logged_and_noted([event])
    await run_jobs(shop.notifier)
    assert len(smtp.messages) == 1

    await shop.publish([event])  # the same event id again, as after a consumer's crash
    marker = failure("ord_MARKER", clock)
    await shop.publish([marker])
    await shop.logged_and_noted([event, marker])
    clock.advance(timedelta(minutes=1))
    await shop.dispatch()

    assert await shop.items() == 2
    assert len(smtp.messages) == 2
    assert "ord_TWICE1" not in text_of(smtp.messages[1])


async def test_unreadable_records_are_skipped_by_the_alerts_group_not_dead_lettered_again(
    shop: Shop,
    smtp: Any,
    clock: ManualClock,
    run_jobs: RunJobs,
    wait_until_consumed: Callable[..., Awaitable[None]],
    topic_size: Callable[[str], Awaitable[int]],
) -> None:
    await shop.configure()
    await shop.publish_raw(b"not an event")
    event = failure("ord_AFTER1", clock)
    await shop.publish([event])
    await shop.logged_and_noted([event])
    fulfilment = shop.topic("shoptrail.fulfilment")
    await wait_until_consumed(shop.notifier.settings.alerts_consumer_group, [fulfilment])
    await wait_until_consumed(shop.notifier.settings.consumer_group, [fulfilment])
    # activity and the notifier's main group each dead-letter it once; the alerts group never
    assert await topic_size(fulfilment + ".dlq") == 2
    # the failure, and the main group's `event.dead_lettered` (an error the owner should
    # hear about); had the alerts group dead-lettered too, there would be a third
    await eventually(lambda: _items_are(shop, 2), "two alert items")
    await run_jobs(shop.notifier)
    assert len(smtp.messages) == 1


async def _items_are(shop: Shop, n: int) -> bool:
    return await shop.items() == n


async def test_an_alert_that_cannot_be_sent_is_one_entry_never_an_alert(
    shop: Shop, clock: ManualClock
) -> None:
    await shop.configure()
    shop.notifier.alerting.mailer = _down_mailer(shop.notifier)
    event = failure("ord_SMTPDN", clock)
    await shop.publish([event])
    await shop.logged_and_noted([event])

    await shop.dispatch()

    await eventually(lambda: _logged(shop, "alert.failed"), "alert.failed in the activity log")
    types = await shop.feed_types()
    assert types.count("alert.failed") == 1 and "alert.sent" not in types
    # the alerts consumer saw alert.failed (an error) on the notifier topic, and let it be
    await eventually(_consumed_notifier_topic(shop), "alerts group read the notifier topic")
    assert await shop.items() == 1 and await shop.items("failed") == 1
    clock.advance(timedelta(minutes=5))
    await shop.dispatch()
    assert (await shop.feed_types()).count("alert.failed") == 1


def _consumed_notifier_topic(shop: Shop) -> Callable[[], Awaitable[bool]]:
    from aiokafka.admin import AIOKafkaAdminClient

    async def check() -> bool:
        admin = AIOKafkaAdminClient(bootstrap_servers=shop.bootstrap)
        await admin.start()
        try:
            offsets = await admin.list_consumer_group_offsets(
                shop.notifier.settings.alerts_consumer_group
            )
        finally:
            await admin.close()
        return any(
            tp.topic == shop.topic("shoptrail.notifier") and o.offset >= 1
            for tp, o in offsets.items()
        )

    return check


def _down_mailer(notifier: Notifier) -> Any:
    """The real SMTP mailer, pointed at a port where no server listens."""
    from shoptrail.notifier.adapters.smtp import SmtpMailer
    from shoptrail.testing import free_port

    return SmtpMailer(
        host="127.0.0.1",
        port=free_port(),
        security="none",
        username=None,
        password=None,
        timeout=5,
        validate_certs=False,
    )
