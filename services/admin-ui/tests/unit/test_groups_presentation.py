"""How a group of failures reads in the admin: one line per problem, in the shop's words."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from shoptrail.admin_ui.domain.groups import Group, GroupOrder

AT = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def group(**overrides: Any) -> Group:
    values: dict[str, Any] = {
        "fingerprint": "0" * 32, "event_type": "order.submission_failed",
        "category": "fulfilment", "level": "error",
        "title": "Submission to Printify failed: timeout after <n>s",
        "sample": "Submission to Printify failed: timeout after 30s",
        "first_seen": AT, "last_seen": AT, "count": 12, "open_count": 12, "regressions": 0,
        "open": True, "resolved_at": None, "orders_affected": 5, "order_ids": [],
        "unknown_field": "ignored",
    }  # fmt: skip
    return Group.model_validate(values | overrides)


def test_a_group_reads_as_the_issue_asks() -> None:
    g = group()
    assert (g.heading, g.seen, g.orders_text) == ("Submission failed", "seen 12 times", "5 orders")


def test_singular_and_empty_forms() -> None:
    g = group(count=1, orders_affected=1)
    assert (g.seen, g.orders_text) == ("seen once", "1 order")
    assert group(orders_affected=0).orders_text == ""
    assert group(count=1234).seen == "seen 1,234 times"


def test_unknown_types_show_their_type_and_orders_their_number_when_known() -> None:
    assert group(event_type="custom.failed").heading == "custom.failed"
    assert GroupOrder(order_id="ord_1", order_number="SS-1").label == "SS-1"
    assert GroupOrder(order_id="ord_1").label == "ord_1"
