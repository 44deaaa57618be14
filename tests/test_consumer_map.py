"""The contract's consumer map (`CONSUMERS`) is what the services really subscribe to.

The AsyncAPI document's `receive` operations are generated from the map, so a
service that subscribed elsewhere would make the document lie. Each service's
own subscription code is run here against a broker that never connects, and
its topics and consumer group are read back.
"""

from __future__ import annotations

import re
from types import SimpleNamespace
from typing import Any, cast

from faststream.kafka import KafkaBroker

from shoptrail.activity.adapters.kafka import subscribe_log_consumer
from shoptrail.activity.config import Settings as ActivitySettings
from shoptrail.activity.metrics import Metrics
from shoptrail.events import topics
from shoptrail.events.catalog import CONSUMERS
from shoptrail.events.consuming import FailureHandling
from shoptrail.events.health import Health
from shoptrail.fulfilment.config import Settings as FulfilmentSettings
from shoptrail.fulfilment.entrypoints.consumers import register_consumers
from shoptrail.notifier.config import Settings as NotifierSettings
from shoptrail.notifier.entrypoints.consumers import subscribe as notifier_subscribe


def failures(group: str) -> FailureHandling:
    """Never asked to dead-letter here: nothing is consumed."""
    return FailureHandling(group=group, dead_letters=cast(Any, None), health=Health(group))


def subscriptions(broker: KafkaBroker) -> list[tuple[str | None, tuple[str, ...], str | None]]:
    """(group, topics, pattern handed to Kafka) of every subscriber on `broker`."""
    found = []
    for sub in cast(list[Any], broker.subscribers):
        pattern = sub.pattern.broker_address if sub.pattern else None
        found.append((sub.group_id, tuple(sorted(sub.topic_names)), pattern))
    return found


def test_fulfilment_subscribes_as_the_map_says() -> None:
    broker, settings = KafkaBroker(), FulfilmentSettings()
    register_consumers(broker, settings, uow=cast(Any, None), failures=failures("fulfilment"))
    expected = CONSUMERS["fulfilment"]
    assert subscriptions(broker) == [(expected.group, tuple(sorted(expected.reads)), None)]


def test_notifier_subscribes_as_the_map_says() -> None:
    broker, settings = KafkaBroker(), NotifierSettings()
    notifier = cast(Any, SimpleNamespace(settings=settings))
    notifier_subscribe(broker, notifier, failures=failures("notifier"))
    expected = CONSUMERS["notifier"]
    assert subscriptions(broker) == [(expected.group, tuple(sorted(expected.reads)), None)]


def test_activity_subscribes_by_the_maps_pattern_which_matches_the_topics_it_lists() -> None:
    broker, settings = KafkaBroker(), ActivitySettings()
    subscribe_log_consumer(
        broker,
        settings,
        store=cast(Any, None),
        metrics=Metrics(),
        producer=cast(Any, None),
        health=Health("activity"),
    )
    expected = CONSUMERS["activity"]
    assert expected.pattern is not None
    [(group, _, pattern)] = subscriptions(broker)
    assert pattern is not None and (group, pattern) == (expected.group, expected.pattern)
    assert set(expected.reads) == {t for t in topics.EVENT_TOPICS if re.fullmatch(pattern, t)}
    assert not any(re.fullmatch(pattern, topics.dead_letter_topic(t)) for t in expected.reads)


def test_the_notifiers_alerts_consumer_subscribes_by_the_maps_pattern_in_its_own_group() -> None:
    from datetime import timedelta

    from shoptrail.notifier.entrypoints.alert_consumer import subscribe_alerts

    broker, settings = KafkaBroker(), NotifierSettings()

    async def wake() -> None:
        return None

    subscribe_alerts(
        broker,
        pattern=settings.alerts_topic_pattern,
        group_id=settings.alerts_consumer_group,
        alerting=cast(Any, None),
        wake_dispatch=wake,
        max_age=timedelta(hours=1),
        health=Health("alerts"),
    )
    expected = CONSUMERS["notifier-alerts"]
    [(group, _, pattern)] = subscriptions(broker)
    assert pattern is not None and (group, pattern) == (expected.group, expected.pattern)
    assert set(expected.reads) == {t for t in topics.EVENT_TOPICS if re.fullmatch(pattern, t)}
