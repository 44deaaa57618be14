"""The contract never carries what a store cannot hold, and cleans rather than loses events."""

from __future__ import annotations

import json

import pytest

from shoptrail.events import MalformedEventError, decode, encode, new_event
from shoptrail.events.common import LineItem
from shoptrail.events.fulfilment import OrderSubmissionFailed
from shoptrail.events.hygiene import MAX_FREE_TEXT, MAX_ID, MAX_ITEMS, MAX_TEXT, clean_text
from shoptrail.events.ingest import OrderCreated
from shoptrail.events.money import Money


class TestCleanText:
    @pytest.mark.parametrize(
        ("dirty", "clean"),
        [
            ("Sam\x00Customer", "Sam\ufffdCustomer"),
            ("half \ud800 a character", "half \ufffd a character"),
            ("\udfff", "\ufffd"),
            ("emoji 😀 stays", "emoji 😀 stays"),
            ("plain", "plain"),
        ],
    )
    def test_replaces_only_what_utf8_and_postgresql_cannot_hold(
        self, dirty: str, clean: str
    ) -> None:
        assert clean_text(dirty) == clean
        clean_text(dirty).encode("utf-8")


def order(**changes: object) -> OrderCreated:
    return OrderCreated.example().model_copy(update=changes)


class TestEncode:
    def test_writes_no_nul_and_no_lone_surrogate(self) -> None:
        event = new_event(order(order_number="SS\x00-1", customer_email="a\ud800@b.c"), source="/t")
        wire = encode(event)
        wire.decode("utf-8")
        assert b"\\u0000" not in wire
        body = json.loads(wire)
        assert body["data"]["order_number"] == "SS\ufffd-1"
        assert body["data"]["customer_email"] == "a\ufffd@b.c"

    def test_a_clean_event_is_written_as_before(self) -> None:
        event = new_event(order(), source="/t")
        assert decode(encode(event)) == event


class TestDecode:
    def wire(self, **data_changes: object) -> bytes:
        body = json.loads(encode(new_event(order(), source="/t")))
        body["data"].update(data_changes)
        return json.dumps(body).encode()  # ASCII: what a foreign producer might write

    def test_a_nul_from_another_producer_is_cleaned_and_the_event_kept(self) -> None:
        event = decode(self.wire(order_number="SS\x00-1"))
        assert isinstance(event.data, OrderCreated)
        assert event.data.order_number == "SS\ufffd-1"

    def test_a_lone_surrogate_is_cleaned_and_the_event_kept(self) -> None:
        event = decode(self.wire(customer_email="jo\udc00@example.com"))
        assert event.data.customer_email == "jo\ufffd@example.com"  # type: ignore[attr-defined]

    def test_strings_beyond_the_bound_are_refused(self) -> None:
        with pytest.raises(MalformedEventError, match="order_id"):
            decode(self.wire(order_id="o" * (MAX_ID + 1)))
        too_long = {
            "product_id": "p",
            "name": "n" * (MAX_TEXT + 1),
            "quantity": 1,
            "unit_price": {"amount": 1, "currency": "GBP"},
        }
        with pytest.raises(MalformedEventError, match="line_items"):
            decode(self.wire(line_items=[too_long]))
        with pytest.raises(ValueError, match="at most"):
            LineItem.model_validate(too_long)

    def test_lists_and_amounts_beyond_the_bound_are_refused(self) -> None:
        item = {"product_id": "p", "name": "n", "quantity": 1,
                "unit_price": {"amount": 1, "currency": "GBP"}}  # fmt: skip
        with pytest.raises(MalformedEventError, match="line_items"):
            decode(self.wire(line_items=[item] * (MAX_ITEMS + 1)))
        with pytest.raises(MalformedEventError, match="amount"):
            decode(self.wire(total={"amount": 10**30, "currency": "GBP"}))

    def test_a_huge_type_name_is_refused_without_being_repeated(self) -> None:
        body = json.loads(self.wire())
        body["type"] = "x" * 100_000
        with pytest.raises(MalformedEventError) as refused:
            decode(json.dumps(body).encode())
        assert len(str(refused.value)) < 200

    def test_deep_nesting_is_refused_not_a_crash(self) -> None:
        deep = b'{"specversion":"1.0","type":"order.created","data":' + b"[" * 100_000
        with pytest.raises(MalformedEventError):
            decode(deep + b"]" * 100_000 + b"}")


def test_free_text_from_elsewhere_is_cut_not_refused() -> None:
    failed = OrderSubmissionFailed(
        order_id="ord_1",
        provider="Printify",
        reason="Printify said: " + "x" * 5000 + "\x00",
        attempt=1,
        max_attempts=3,
    )
    assert len(failed.reason) == MAX_FREE_TEXT and failed.reason.endswith("…")
    assert "\x00" not in failed.reason


def test_money_beyond_any_real_amount_is_refused() -> None:
    with pytest.raises(ValueError, match="amount"):
        Money(amount=2**63, currency="GBP")
