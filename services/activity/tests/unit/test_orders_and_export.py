"""Orders cursors and the CSV's cells, without a database."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shoptrail.activity.domain.order_list import InvalidOrderCursorError, OrderCursor
from shoptrail.activity.entrypoints.export_api import csv_row, csv_text, guarded


class TestOrderCursor:
    @pytest.mark.parametrize(
        "cursor",
        [
            OrderCursor(datetime(2026, 12, 1, 9, 30, 1, 5, tzinfo=UTC), "ord_demo_4983222149e6"),
            OrderCursor(None, "ord|with|bars"),  # not placed yet: sorts last
        ],
    )
    def test_round_trip(self, cursor: OrderCursor) -> None:
        assert OrderCursor.decode(cursor.encode()) == cursor

    @pytest.mark.parametrize("token", ["", "!!", "fA", "bm90LWEtdGltZXxvcmRfMQ"])
    def test_a_cursor_we_did_not_issue_is_refused(self, token: str) -> None:
        with pytest.raises(InvalidOrderCursorError):
            OrderCursor.decode(token)


class TestCsvCells:
    @pytest.mark.parametrize("value", ["=1+1", "+1", "-1", "@A1", "\tx", "\rx"])
    def test_what_a_spreadsheet_would_run_is_quoted(self, value: str) -> None:
        assert guarded(value) == "'" + value

    def test_plain_text_is_left_alone(self) -> None:
        assert guarded("Order placed — £43.00") == "Order placed — £43.00"
        assert guarded("") == ""

    def test_a_row_names_the_order_by_number_else_id(self) -> None:
        entry = {
            "id": 7, "occurred_at": datetime(2026, 12, 1, tzinfo=UTC), "level": "error",
            "event_type": "order.submission_failed", "order_id": "ord_1", "order_number": None,
            "message": 'said "no", twice', "resolved_at": None, "resolution": None,
        }  # fmt: skip
        assert csv_row(entry)[3] == "ord_1"
        assert csv_row(entry | {"order_number": "SS-1"})[3] == "SS-1"
        assert csv_text([csv_row(entry)]).endswith(',"said ""no"", twice",,7\r\n')
