"""Which reported statuses are real changes: forward only, each once."""

from __future__ import annotations

import pytest

from shoptrail.fulfilment.domain.model import OrderStatus as S
from shoptrail.fulfilment.domain.model import is_real_change, parse_reported_status


@pytest.mark.parametrize(
    ("current", "reported", "news"),
    [
        (S.SUBMITTED, S.IN_PRODUCTION, True),
        (S.IN_PRODUCTION, S.SHIPPED, True),
        (S.SUBMITTED, S.SHIPPED, True),
        (S.SHIPPED, S.DELIVERED, True),
        (S.SHIPPED, S.SHIPPED, False),
        (S.SHIPPED, S.IN_PRODUCTION, False),
        (S.DELIVERED, S.CANCELLED, False),
        (S.IN_PRODUCTION, S.CANCELLED, True),
        (S.CANCELLED, S.CANCELLED, False),
        (S.RECEIVED, S.SHIPPED, False),
    ],
)
def test_only_forward_moves_are_news(current: S, reported: S, news: bool) -> None:
    assert is_real_change(current, reported) is news


@pytest.mark.parametrize(
    ("word", "status"),
    [
        ("in-production", S.IN_PRODUCTION),
        ("inprocess", S.IN_PRODUCTION),
        ("fulfilled", S.SHIPPED),
        ("Shipped", S.SHIPPED),
        ("canceled", S.CANCELLED),
        ("delivered", S.DELIVERED),
        ("on-hold", None),
        ("pending", None),
    ],
)
def test_provider_status_words_map_to_ours(word: str, status: S | None) -> None:
    assert parse_reported_status(word) is status
