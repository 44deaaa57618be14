"""Pure logic: entries, cursors, auto-resolve keys, the order projection, batch recording."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from shoptrail.activity.adapters.sqlscript import statements
from shoptrail.activity.domain.entries import LogEntry, dead_letter_entry, entry_from_event
from shoptrail.activity.domain.feed import Cursor, FeedFilter, InvalidCursorError, Tab
from shoptrail.activity.domain.orders import is_snapshot, order_change
from shoptrail.activity.domain.rules import RULES
from shoptrail.activity.entrypoints.cli import ProgressBar
from shoptrail.activity.entrypoints.scheduler import seconds_until
from shoptrail.activity.service_layer.ports import DeadLetters, LogStore, WriteResult
from shoptrail.activity.service_layer.record import lane_of, record_batch
from shoptrail.activity.service_layer.replay import ReplayStats
from shoptrail.events import encode, new_event
from shoptrail.events.fulfilment import OrderShipped, OrderSubmitted, SyncFailed
from shoptrail.events.ingest import OrderCreated, OrderRefunded

WHEN = datetime(2026, 2, 16, 14, 23, tzinfo=UTC)


def test_an_entry_snapshots_the_event() -> None:
    event = new_event(OrderShipped.example(), source="/services/fulfilment", time=WHEN)
    entry = entry_from_event(event)
    assert entry.event_id == event.id
    assert (entry.level, entry.category) == ("info", "fulfilment")
    assert entry.message == "Shipped via DHL — tracking: 1Z999AA10123456784"
    assert entry.order_id == "ord_01J9Z8K4"
    assert entry.occurred_at == WHEN
    assert entry.data.carrier == "DHL"  # type: ignore[attr-defined]


def test_a_dead_letter_entry_has_the_same_id_however_often_it_is_seen() -> None:
    def make() -> LogEntry:
        return dead_letter_entry(
            topic="shoptrail.ingest", partition=2, offset=77, error="boom", timestamp_ms=1_700_000
        )

    first = make()
    assert first.event_id == make().event_id
    assert first.message == "Unreadable event on shoptrail.ingest @ partition 2 offset 77: boom"
    assert first.level == "error"
    assert json.loads(first.payload)["dead_letter_topic"] == "shoptrail.ingest.dlq"


class TestCursor:
    def test_round_trips(self) -> None:
        cursor = Cursor(WHEN, 12345)
        assert Cursor.decode(cursor.encode()) == cursor

    @pytest.mark.parametrize("token", ["", "!!", "bm90LWEtY3Vyc29y", "MjAyNi0wMi0xNnwx"])
    def test_rejects_what_it_did_not_issue(self, token: str) -> None:
        with pytest.raises(InvalidCursorError):
            Cursor.decode(token)


def test_debug_is_hidden_unless_asked_for() -> None:
    assert FeedFilter().hides_debug
    assert not FeedFilter(include_debug=True).hides_debug
    assert not FeedFilter(levels=("debug",)).hides_debug
    assert FeedFilter(tab=Tab.ATTENTION).tab is Tab.ATTENTION


def test_auto_resolve_keys_come_from_order_ids_and_providers() -> None:
    submission, sync, _ = RULES
    entries = [
        entry_from_event(new_event(OrderSubmitted.example(), source="/t")),
        entry_from_event(new_event(SyncFailed.example(), source="/t")),
        entry_from_event(new_event(OrderShipped.example(), source="/t")),
    ]
    assert submission.touched_keys(entries) == ["ord_01J9Z8K4"]
    assert sync.touched_keys(entries) == ["Printify"]


class TestOrderProjection:
    def test_an_order_is_built_from_its_created_entry_and_changed_by_the_rest(self) -> None:
        created = entry_from_event(new_event(OrderCreated.example(), source="/t"))
        shipped = entry_from_event(new_event(OrderShipped.example(), source="/t"))
        assert is_snapshot(created) and order_change(created) is None
        assert not is_snapshot(shipped)
        change = order_change(shipped)
        assert change is not None and change.status == "shipped"

    def test_a_partial_refund_adds_up_without_changing_status(self) -> None:
        refund = OrderRefunded.example().model_copy(update={"full": False})
        change = order_change(entry_from_event(new_event(refund, source="/t")))
        assert change is not None
        assert (change.status, change.refunded) == (None, 4300)

    def test_non_order_events_change_nothing(self) -> None:
        assert order_change(entry_from_event(new_event(SyncFailed.example(), source="/t"))) is None


@dataclass
class Record:
    value: bytes
    topic: str = "shoptrail.fulfilment"
    partition: int = 0
    offset: int = 0
    timestamp: int = 1_700_000_000_000
    headers: Any = ()
    key: bytes | None = None


class FakeStore(LogStore):
    def __init__(self) -> None:
        self.written: list[LogEntry] = []

    async def write(self, entries: Sequence[LogEntry]) -> WriteResult:
        self.written.extend(entries)
        return WriteResult(inserted_ids=list(range(len(entries))))


class FakeDeadLetters(DeadLetters):
    def __init__(self) -> None:
        self.published: list[tuple[Any, str]] = []

    async def publish(self, record: Any, error: str) -> bool:
        self.published.append((record, error))
        return False


async def test_a_batch_writes_good_events_and_an_error_entry_per_unreadable_one() -> None:
    good = new_event(OrderShipped.example(), source="/t")
    records = [Record(encode(good), offset=1), Record(b"{}", offset=2)]
    store, dead = FakeStore(), FakeDeadLetters()
    outcome = await record_batch(records=records, store=store, dead_letters=dead)
    assert (outcome.read, outcome.dead_lettered) == (2, 1)
    assert [e.event_type for e in store.written] == ["order.shipped", "event.dead_lettered"]
    assert dead.published[0][0].offset == 2
    assert "CloudEvents" in dead.published[0][1]


class LaneStore(LogStore):
    """Records which writes ran at the same time, and which entries each carried."""

    def __init__(self, lanes: int, fail_on: str | None = None) -> None:
        self.lanes, self.fail_on = lanes, fail_on
        self.writes: list[list[str | None]] = []
        self.running = self.most_at_once = 0

    async def write(self, entries: Sequence[LogEntry]) -> WriteResult:
        self.running += 1
        self.most_at_once = max(self.most_at_once, self.running)
        await asyncio.sleep(0.01)
        self.running -= 1
        if self.fail_on and any(e.order_id == self.fail_on for e in entries):
            raise RuntimeError(f"cannot write {self.fail_on}")
        self.writes.append([e.order_id for e in entries])
        return WriteResult(inserted_ids=list(range(len(entries))))


def shipped(order: str) -> Record:
    data = OrderShipped.example().model_copy(update={"order_id": order})
    return Record(encode(new_event(data, source="/t")), key=order.encode())


async def test_lanes_write_at_once_and_keep_each_orders_events_in_one_lane() -> None:
    orders = [f"ord_{n % 7}" for n in range(60)]
    keyless = Record(encode(new_event(SyncFailed.example(), source="/t")))
    store = LaneStore(lanes=2)
    outcome = await record_batch(
        records=[*map(shipped, orders), keyless], store=store, dead_letters=None, chunk=10
    )
    assert outcome.read == 61
    assert store.most_at_once == 2
    assert {lane_of(shipped(o), 2) for o in orders} == {0, 1}
    assert lane_of(keyless, 2) == 0
    for write in store.writes:  # a write never mixes lanes: an order stays in its lane
        assert len({lane_of(shipped(o), 2) if o else 0 for o in write}) == 1
    assert sorted(o for w in store.writes for o in w if o) == sorted(orders)


async def test_a_failing_lane_fails_the_batch_with_its_own_error() -> None:
    store = LaneStore(lanes=2, fail_on="ord_3")
    records = [shipped(f"ord_{n}") for n in range(8)]
    with pytest.raises(RuntimeError, match="cannot write ord_3"):
        await record_batch(records=records, store=store, dead_letters=None, chunk=2)


def test_sql_scripts_split_outside_function_bodies() -> None:
    script = "CREATE TABLE a (x int);\nCREATE FUNCTION f() AS $$\nBEGIN; END;\n$$;\n-- done\n"
    assert statements(script) == [
        "CREATE TABLE a (x int)",
        "CREATE FUNCTION f() AS $$\nBEGIN; END;\n$$",
    ]


def test_the_nightly_prune_waits_for_the_next_hour() -> None:
    assert seconds_until(3, datetime(2026, 2, 16, 2, 0, tzinfo=UTC)) == 3600
    assert seconds_until(3, datetime(2026, 2, 16, 4, 0, tzinfo=UTC)) == 23 * 3600


def test_the_progress_bar_shows_counts() -> None:
    out = io.StringIO()
    ProgressBar(out)(
        ReplayStats(expected=200, read=100, inserted=90, duplicates=8, dead_lettered=2), final=True
    )
    line = out.getvalue()
    assert "50.0%" in line
    assert "100/200 read · 90 inserted · 8 duplicates · 2 dead-lettered" in line


def test_a_batchs_order_changes_fold_as_if_applied_in_turn() -> None:
    from shoptrail.activity.domain.orders import OrderChange, merge_changes

    t = [WHEN.replace(minute=m) for m in range(5)]
    merged = merge_changes(
        [
            OrderChange("a", t[3], "shipped", {"carrier": "DHL", "provider": "Printify"}),
            OrderChange("a", t[1], "submitted", {"provider_order_id": "P-1", "carrier": None}),
            OrderChange("a", t[4], None, refunded=500),
            OrderChange("b", t[0], None, refunded=100),
            OrderChange("a", t[4], None, refunded=250),
        ]
    )
    a, b = merged
    assert (a.status, a.at) == ("shipped", t[3])  # the late "submitted" does not win
    assert a.details == {"carrier": "DHL", "provider": "Printify", "provider_order_id": "P-1"}
    assert a.refunded == 750
    assert (b.status, b.refunded) == (None, 100)
