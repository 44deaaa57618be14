"""No bad input and no infrastructure hiccup stops the shop: the fault suite.

The whole shop as `make dev` starts it (real Kafka, PostgreSQL, every service
process), then, in turn: odd characters in every webhook, a consumer that
keeps failing on one message, a record at the broker's size limit, the
activity consumer SIGKILLed ten times, PostgreSQL away for two minutes,
Kafka away for a minute (twice), and a burst of orders at twice the shop's
capacity. Each scenario counts what went in, what was
stored, what is missing and what is doubled, and fails on any loss or
duplicate; nobody restarts anything by hand.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import senders
from aiokafka.admin import AIOKafkaAdminClient

from shoptrail.events import encode, new_event
from shoptrail.events.fulfilment import OrderDelivered
from shoptrail.events.ingest import OrderCreated
from shoptrail.events.kafka_access import kafka_client_options
from shoptrail.events.producer import Producer
from shoptrail.events.publisher import EventPublisher
from tests.e2e.launcher import LaunchedShop
from tests.faults.probes import (
    POISON_ORDER,
    Figures,
    Looker,
    Sender,
    checkout,
    dsn,
    eventually,
    ingest_shed,
    kill,
    open_loop,
    order_ids_on,
    partition_of,
    ready,
    stack,
)

pytestmark = [pytest.mark.slow, pytest.mark.kafka, pytest.mark.postgres]

INGEST = "shoptrail.ingest"
GROUPS = {
    "shoptrail-activity": ["shoptrail.ingest", "shoptrail.fulfilment", "shoptrail.notifier"],
    "fulfilment": ["shoptrail.ingest"],
    "notifier": ["shoptrail.ingest", "shoptrail.fulfilment"],
}
CONTROLS = "\x00\x01\x07\x1b\x7f"


def with_controls(value: Any) -> Any:
    """Control characters in the middle and at both ends of every string."""
    if isinstance(value, str):
        middle = len(value) // 2
        return f"{CONTROLS}{value[:middle]}{CONTROLS}{value[middle:]}{CONTROLS}"
    if isinstance(value, dict):
        return {k: with_controls(v) for k, v in value.items()}
    if isinstance(value, list):
        return [with_controls(v) for v in value]
    return value


async def no_lag(looker: Looker) -> None:
    lag = await eventually(
        lambda: _all_zero(looker), timeout=120, what="every consumer group caught up"
    )
    assert lag


async def _all_zero(looker: Looker) -> bool:
    return all(n == 0 for n in (await looker.consumer_lag(GROUPS)).values())


@pytest.mark.timeout(600)
async def test_odd_characters_in_every_string_of_every_webhook_kind_never_stop_the_shop(
    shop: LaunchedShop, sender: Sender, looker: Looker, figures: list[Figures]
) -> None:
    figure = Figures("odd characters (U+0000, controls, lone surrogates) in every string")
    orders = [checkout("nul") for _ in range(10)]
    for made in orders:
        response = await sender.raw_stripe(
            with_controls(senders.checkout_completed(made, embedded=True))
        )
        assert response.status_code == 200, response.text
    surrogate = checkout("surrogate")
    payload = senders.checkout_completed(surrogate, embedded=True)
    payload["data"]["object"]["customer_details"]["name"] = "Jo \ud800 Buyer"
    assert (await sender.raw_stripe(payload)).status_code == 200
    orders.append(surrogate)

    # Events written with U+0000 by a producer before the contract cleaned them.
    old = [checkout("old-producer") for _ in range(3)]
    async with Producer(shop.kafka_as("ingest"), client_id="fault-suite-old-producer") as producer:
        for made in old:
            assert made.customer is not None
            created = OrderCreated.example().model_copy(
                update={
                    "order_id": made.order_id,
                    "order_number": made.order_number,
                    "customer_email": made.customer.email,
                }
            )
            body = json.loads(encode(new_event(created, source="/services/ingest")))
            body["data"]["shipping_address"]["name"] = "Sam\u0000Customer"
            raw = json.dumps(body).encode()  # ASCII JSON: U+0000 travels as \u0000
            assert b"\\u0000" in raw
            await producer.send_and_wait(INGEST, raw, key=made.order_id.encode())
    orders += old
    figure.recovery_s["settled"] = await looker.settled(orders, figure, timeout=180)

    # Provider and email-provider webhooks with the same characters, about these orders.
    first = orders[0]
    assert first.customer is not None
    bounce = senders.email_bounce(
        first.customer.email,
        order_id=first.order_id,
        email_kind="order_confirmation",
        reason="550 5.1.1 mailbox unavailable",
    )
    body = senders.encode(with_controls(bounce))
    headers = senders.standard_webhook_headers(body, sender.secrets["email_webhook_secret"])
    answered = await sender.http.post(
        f"{shop.urls['ingest']}/webhooks/email",
        content=body,
        headers={**headers, "content-type": "application/json"},
    )
    assert answered.status_code == 200, answered.text
    at_provider = await looker.provider_order_id(first.order_id)
    shipment = {
        "carrier": "DHL",
        "tracking_number": "1Z999AA1",
        "tracking_url": "https://t.example",
    }
    printify = senders.printify_event(
        "shipped", provider_order_id=at_provider, order_id=first.order_id, **shipment
    )
    printful = senders.printful_event(
        "shipped", provider_order_id="13579", order_id=orders[1].order_id, **shipment
    )
    for provider, event in (("Printify", printify), ("Printful", printful)):
        raw = senders.encode(with_controls(event))
        if provider == "Printify":
            signature = senders.printify_signature(raw, sender.secrets["printify_webhook_secret"])
            signed = {"X-Pfy-Signature": signature}
        else:
            key = sender.secrets["printful_webhook_secret_key"]
            signed = {"x-pf-webhook-signature": senders.printful_signature(raw, key)}
        answered = await sender.http.post(
            f"{shop.urls['ingest']}/webhooks/{provider.lower()}",
            content=raw,
            headers={**signed, "content-type": "application/json"},
        )
        assert answered.status_code == 200, (provider, answered.text)

    async def bounce_and_shipment_logged() -> bool:
        types = {e["event_type"] for e in await looker.timeline(first.order_id)}
        return {"email.bounced", "order.shipped"} <= types

    await eventually(
        bounce_and_shipment_logged, timeout=90, what="the bounce and shipment on the timeline"
    )
    await no_lag(looker)
    await looker.admin_pages_answer(first.order_id)
    # The mail sink (the customer's inbox stand-in) and the brokers are not our services.
    service_logs = [
        log for log in shop.logs.glob("*.log") if log.stem not in {"mail", "kafka", "postgres"}
    ]
    leaked = [
        o.customer.email
        for o in orders
        for log in service_logs
        if o.customer and o.customer.email in log.read_text(errors="replace")
    ]
    assert not leaked, f"customer emails in the services' logs: {leaked[:3]}"
    kafka_passwords = [
        password for name in shop.planned if (password := shop.kafka_as(name).password) is not None
    ]
    assert kafka_passwords, "the fault suite's shop runs on a guarded bus"
    told = [
        log.name
        for log in service_logs
        for password in kafka_passwords
        if password.get_secret_value() in log.read_text(errors="replace")
    ]
    assert not told, f"a Kafka password in the services' logs: {told}"
    figures.append(figure)


@pytest.mark.timeout(400)
async def test_a_handler_that_keeps_raising_sets_its_message_aside_and_the_next_100_arrive(
    shop: LaunchedShop, sender: Sender, looker: Looker, figures: list[Figures]
) -> None:
    figure = Figures("a consumer failing on one message (fulfilment, rehearsed)")
    partition = partition_of(POISON_ORDER)
    poison = checkout("poison", order_id=POISON_ORDER)
    behind = [checkout("behind", order_id=o) for o in order_ids_on(partition, 100, "behind")]
    started = time.monotonic()
    await sender.order(poison)
    await asyncio.gather(*(sender.order(made) for made in behind))

    async def dead_lettered() -> dict[str, Any] | None:
        for entry in await looker.timeline(POISON_ORDER):
            if entry["event_type"] == "event.dead_lettered":
                return entry
        return None

    entry = await eventually(dead_lettered, timeout=120, what="the dead letter on the timeline")
    figure.recovery_s["dead-lettered after"] = time.monotonic() - started
    assert entry["level"] == "error"
    assert entry["payload"]["consumer"] == "fulfilment"
    assert "rehearsed failure" in entry["payload"]["error"]
    figure.recovery_s["100 behind settled"] = await looker.settled(behind, figure, timeout=180)
    outcome = (await looker.outcomes([poison]))[POISON_ORDER]
    assert (outcome.logged, outcome.submitted, outcome.mailed) == (1, 0, 1)
    retries = (shop.logs / "fulfilment.log").read_text().count("processing failed; retrying")
    assert 1 <= retries <= 5, f"{retries} retry lines: the log should say each backoff step once"
    figure.notes["retry log lines"] = retries
    figures.append(figure)


@pytest.mark.timeout(400)
async def test_a_record_at_the_brokers_size_limit_is_set_aside_by_reference(
    shop: LaunchedShop, sender: Sender, looker: Looker, figures: list[Figures]
) -> None:
    figure = Figures("a record at the broker's size limit on shoptrail.ingest")
    key = order_ids_on(1, 1, "huge")[0]
    behind = [checkout("after-huge", order_id=o) for o in order_ids_on(1, 20, "after-huge")]
    created = OrderCreated.example().model_copy(update={"order_id": key})
    body = json.loads(encode(new_event(created, source="/services/ingest")))
    body["data"]["order_number"] = ""
    pad = 1_048_300 - len(json.dumps(body).encode())  # as large as the broker takes
    body["data"]["order_number"] = "x" * pad  # beyond the contract's bound: refused
    raw = json.dumps(body).encode()
    async with Producer(shop.kafka_as("ingest"), client_id="fault-suite-huge") as producer:
        await producer.send_and_wait(INGEST, raw, key=key.encode())
    figure.notes["record bytes"] = len(raw)
    await asyncio.gather(*(sender.order(made) for made in behind))
    figure.recovery_s["20 behind settled"] = await looker.settled(behind, figure, timeout=180)

    async def set_aside_by_all() -> set[str | None] | None:
        consumers = {
            e["payload"].get("consumer")
            for e in await looker.timeline(key)
            if e["event_type"] == "event.dead_lettered" and e["payload"]["by_reference"]
        }
        return consumers if consumers >= {None, "fulfilment", "notifier"} else None

    await eventually(set_aside_by_all, timeout=120, what="a reference dead letter per consumer")
    await no_lag(looker)
    figures.append(figure)


@pytest.mark.timeout(600)
async def test_the_activity_consumer_killed_ten_times_loses_and_doubles_nothing(
    shop: LaunchedShop, looker: Looker, figures: list[Figures]
) -> None:
    figure = Figures("activity consumer SIGKILLed 10 times during 10,000 events")
    topic = f"shoptrail.faultsuite{secrets.token_hex(3)}"  # read by activity alone
    admin = AIOKafkaAdminClient(**kafka_client_options(shop.kafka))
    await admin.start()
    from aiokafka.admin import NewTopic

    await admin.create_topics([NewTopic(topic, 3, 1)])
    at: dict[tuple[int, int], str] = {}
    kills, waves, wave_size = 0, 10, 1000
    conn = await asyncpg.connect(looker.activity_dsn)
    try:
        async with Producer(shop.kafka, client_id="fault-suite-waves") as producer:
            publisher = EventPublisher(producer, topic)
            for wave in range(waves):
                events = [
                    new_event(
                        OrderDelivered(order_id=f"ord_wave_{wave}_{n % 50}", provider="Printify"),
                        source="/services/fulfilment",
                    )
                    for n in range(wave_size)
                ]
                for event, sent in zip(events, await publisher.publish_all(events), strict=True):
                    at[sent.partition, sent.offset] = str(event.id)
                wave_ids = [str(e.id) for e in events]

                async def some_of_the_wave_stored(ids: list[str] = wave_ids) -> bool:
                    return bool(
                        await conn.fetchval(
                            "SELECT count(*) FROM activity_log WHERE event_id = ANY($1::uuid[])",
                            ids,
                        )
                    )

                await eventually(
                    some_of_the_wave_stored, timeout=120, what=f"wave {wave} reaching the log"
                )
                kill(shop, "activity")
                kills += 1
                await _committed_never_ahead(admin, conn, topic, at)
                shop.start("activity")
                await ready(shop)
        figure.sent = len(at)

        async def all_stored() -> bool:
            stored = await conn.fetchval(
                "SELECT count(*) FROM activity_log WHERE event_id = ANY($1::uuid[])",
                list(at.values()),
            )
            return bool(stored == len(at))

        await eventually(all_stored, timeout=180, what="every event in the log")
        rows = await conn.fetch(
            "SELECT event_id::text, count(*) AS n FROM activity_log "
            "WHERE event_id = ANY($1::uuid[]) GROUP BY 1",
            list(at.values()),
        )
    finally:
        await conn.close()
        await admin.delete_topics([topic])
        await admin.close()
    figure.stored = len(rows)
    figure.missing = len(at) - len(rows)
    figure.doubled = sum(1 for r in rows if r["n"] > 1)
    figure.notes["kills"] = kills
    assert kills == 10 and figure.missing == 0 and figure.doubled == 0
    figures.append(figure)


async def _committed_never_ahead(
    admin: AIOKafkaAdminClient,
    conn: asyncpg.Connection,
    topic: str,
    at: dict[tuple[int, int], str],
) -> None:
    """Every record below the group's committed offset is in the log (the consumer is dead)."""
    committed = await admin.list_consumer_group_offsets("shoptrail-activity")
    for tp, meta in committed.items():
        if tp.topic != topic:
            continue
        below = [eid for (p, o), eid in at.items() if p == tp.partition and o < meta.offset]
        stored = await conn.fetchval(
            "SELECT count(*) FROM activity_log WHERE event_id = ANY($1::uuid[])", below
        )
        assert stored == len(below), (
            f"partition {tp.partition}: committed {meta.offset}, only {stored} of "
            f"{len(below)} records below it are in the log"
        )


@pytest.mark.timeout(600)
async def test_postgresql_away_for_two_minutes_under_load_heals_by_itself(
    shop: LaunchedShop, sender: Sender, looker: Looker, figures: list[Figures]
) -> None:
    figure = Figures("PostgreSQL stopped for 120 s under webhook load")
    stop = asyncio.Event()
    traffic = asyncio.create_task(sender.stream("pg-outage", stop, rate=2.0))
    await asyncio.sleep(5)  # traffic before the outage (a pace, not a synchronisation)
    await stack(shop, "down", "postgres")
    down_at = time.monotonic()
    await asyncio.sleep(120)  # the outage itself
    await stack(shop, "up", "postgres")
    up_at = time.monotonic()
    figure.notes["outage s"] = round(up_at - down_at)
    await asyncio.sleep(5)  # and traffic after it
    stop.set()
    orders = await traffic
    figure.recovery_s["all settled after PostgreSQL returned"] = await looker.settled(
        orders, figure, timeout=240
    ) + (time.monotonic() - up_at)
    for name, process in shop.running.items():
        assert process.poll() is None, f"{name} exited during the outage"
    await ready(shop, timeout=120)
    await looker.admin_pages_answer(orders[-1].order_id)
    figures.append(figure)


@pytest.mark.timeout(900)
async def test_kafka_away_for_a_minute_twice_heals_by_itself_and_loses_nothing(
    shop: LaunchedShop, sender: Sender, looker: Looker, figures: list[Figures]
) -> None:
    figure = Figures("Kafka stopped for 60 s and restarted, twice")
    logs_before = {log: log.stat().st_size for log in shop.logs.glob("*.log")}
    stop = asyncio.Event()
    traffic = asyncio.create_task(sender.stream("kafka-outage", stop, rate=2.0))
    for round_ in (1, 2):
        await asyncio.sleep(5)  # traffic while Kafka is up
        await stack(shop, "down", "kafka")
        await asyncio.sleep(60)  # the outage
        await stack(shop, "up", "kafka")
        back = time.monotonic()
        staged_while_away = {
            table: newest for table, (_, newest) in (await _outbox_ids(shop)).items()
        }
        taken_before = max(sender.taken.values(), default=0.0)

        async def ingest_takes_again(since: float = taken_before) -> bool:
            return max(sender.taken.values(), default=0.0) > since

        await eventually(ingest_takes_again, timeout=120, what="ingest taking webhooks again")
        figure.recovery_s[f"ingest #{round_}"] = time.monotonic() - back

        async def relayed(heads: dict[str, int] = staged_while_away) -> bool:
            return await _relayed_up_to(shop, heads)

        await eventually(
            relayed,
            timeout=120,
            what="the outbox relays publishing what was staged while Kafka was away",
        )
        figure.recovery_s[f"relays #{round_}"] = time.monotonic() - back
    stop.set()
    orders = await traffic
    figure.recovery_s["all settled"] = await looker.settled(orders, figure, timeout=300)
    figure.notes["refused while away"] = dict(sender.refused)
    for name, process in shop.running.items():
        assert process.poll() is None, f"{name} exited during the outage"
    # The promise: both recover within 30 s of the broker's return. Ingest answers
    # again on its next request; a relay retries within its backoff cap (5 s).
    for label in ("ingest #1", "ingest #2", "relays #1", "relays #2"):
        assert figure.recovery_s[label] < 30, f"{label} took {figure.recovery_s[label]:.0f} s"
    await no_lag(looker)
    # No flood: a library's reconnect loop (~20 lines/s per client while Kafka is away)
    # is said once per window, so two minutes away costs each process tens of lines.
    library_lines = {
        log.stem: sum(
            1
            for line in _written_since(log, logs_before.get(log, 0)).splitlines()
            if '"level": "error"' in line or '"level": "warning"' in line
            if '"logger": "shoptrail.' not in line
        )
        for log in shop.logs.glob("*.log")
        if log.stem not in {"mail", "kafka", "postgres", "fake-provider"}
    }
    figure.notes["library warning lines"] = library_lines
    assert max(library_lines.values()) < 400, library_lines
    figures.append(figure)


def _written_since(log: Path, offset: int) -> str:
    with log.open("rb") as file:
        file.seek(offset)
        return file.read().decode(errors="replace")


OUTBOXES = (("fulfilment", "fulfilment_outbox"), ("notifier", "event_outbox"))


async def _outbox_ids(shop: LaunchedShop) -> dict[str, tuple[int, int]]:
    """The oldest and newest staged row id of each outbox now ((0, 0) when it is empty)."""
    ids = {}
    for service, table in OUTBOXES:
        conn = await asyncpg.connect(dsn(shop, service))
        try:
            row = await conn.fetchrow(f"SELECT min(id), max(id) FROM {table}")  # noqa: S608 - our names
        finally:
            await conn.close()
        ids[table] = (row[0] or 0, row[1] or 0)
    return ids


async def _relayed_up_to(shop: LaunchedShop, heads: dict[str, int]) -> bool:
    """Every row staged up to `heads` has been relayed (rows staged since may still wait:
    traffic keeps flowing, so "the outbox is empty" would be a race, not a measure)."""
    return all(
        oldest == 0 or oldest > heads[table]
        for table, (oldest, _) in (await _outbox_ids(shop)).items()
    )


BURSTS = [
    # Twice what this 2-core machine's whole shop keeps up with (about 20 orders a second
    # with webhook → 2xx p99 under 50 ms; bench/bench_load.py measures it).
    pytest.param(40, 60, id="twice-the-shop"),
]
DEADLINE_S = 5.0
"""INGEST_DEADLINE_SECONDS as dev.py runs ingest (the default)."""


@pytest.mark.timeout(900)
@pytest.mark.parametrize(("rate", "seconds"), BURSTS)
async def test_a_burst_past_capacity_is_answered_in_time_or_refused_and_nothing_is_lost(
    shop: LaunchedShop,
    sender: Sender,
    looker: Looker,
    figures: list[Figures],
    rate: int,
    seconds: int,
) -> None:
    """Every webhook of the burst is answered 2xx within the deadline or 503 with
    Retry-After at once; resending the refused ones gives exactly one order each."""
    figure = Figures(f"a burst: {rate} orders/s for {seconds} s")
    shed_before = await ingest_shed(shop)
    orders = [checkout(f"burst{rate}") for _ in range(rate * seconds)]
    answers = await open_loop(sender, orders, rate)

    taken = [a for a in answers if a is not None and a.status == 200]
    refused = [a for a in answers if a is not None and a.status != 200]
    unanswered = sum(a is None for a in answers)
    took = sorted(a.seconds for a in answers if a is not None)
    figure.notes.update(
        {
            "2xx": len(taken),
            "503": len(refused),
            "no answer": unanswered,
            "answer p50 ms": round(took[len(took) // 2] * 1000, 1),
            "p99 ms": round(took[int(len(took) * 0.99)] * 1000, 1),
            "max ms": round(took[-1] * 1000, 1),
            "ingest shed": {
                reason: n - shed_before.get(reason, 0)
                for reason, n in (await ingest_shed(shop)).items()
            },
        }
    )
    assert unanswered == 0, f"{unanswered} webhooks got no answer: {figure.notes}"
    assert all(a.status == 503 and a.retry_after for a in refused), {
        (a.status, a.retry_after) for a in refused
    }
    # The deadline is ingest's (a 503 once it passes); what the sender sees adds only the
    # way there and back. Unbounded queueing answered in minutes.
    assert took[-1] < 2 * DEADLINE_S, figure.notes

    # As the providers do: a refused webhook comes again, until it is taken.
    resend = [made for made, a in zip(orders, answers, strict=True) if a and a.status != 200]
    await asyncio.gather(*(sender.order(made, within=600, backing_off=True) for made in resend))

    async def all_logged() -> bool:
        outcomes = await looker.outcomes(orders)
        return all(o.logged >= 1 for o in outcomes.values())

    started = time.monotonic()
    await eventually(all_logged, timeout=300, what="every order of the burst in the log")
    figure.recovery_s["all in the log after the burst"] = time.monotonic() - started
    outcomes = await looker.outcomes(orders)
    figure.sent = len(orders)
    figure.stored = sum(o.logged == 1 for o in outcomes.values())
    figure.missing = sum(o.logged == 0 for o in outcomes.values())
    # Submissions and emails catch up after the test; none may be doubled so far.
    figure.doubled = sum(o.doubled for o in outcomes.values())
    figures.append(figure)
    assert figure.missing == 0
    assert figure.doubled == 0, [k for k, o in outcomes.items() if o.doubled][:5]
