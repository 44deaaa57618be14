"""How times read: the timeline's "14:23" / "16 Feb", the feed's "2 h ago"."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from shoptrail.admin_ui.domain.timefmt import full_timestamp, relative_time, short_time

LONDON = ZoneInfo("Europe/London")
NOW = datetime(2026, 7, 16, 16, 0, tzinfo=UTC)  # 17:00 in London (summer time)


class TestShortTime:
    def test_today_is_hours_and_minutes_in_the_shops_zone(self) -> None:
        assert (
            short_time(datetime(2026, 7, 16, 13, 23, tzinfo=UTC), now=NOW, zone=LONDON) == "14:23"
        )

    def test_another_day_is_day_and_month(self) -> None:
        assert short_time(datetime(2026, 2, 16, 9, 5, tzinfo=UTC), now=NOW, zone=LONDON) == "16 Feb"

    def test_another_year_says_the_year(self) -> None:
        when = datetime(2025, 12, 3, 9, 5, tzinfo=UTC)
        assert short_time(when, now=NOW, zone=LONDON) == "3 Dec 2025"

    def test_today_means_the_shops_day_not_utcs(self) -> None:
        late = datetime(2026, 7, 16, 23, 30, tzinfo=UTC)  # 00:30 on the 17th in London
        assert short_time(late, now=NOW, zone=LONDON) == "17 Jul"


def test_full_timestamp_has_date_seconds_and_zone() -> None:
    when = datetime(2026, 2, 16, 14, 23, 5, tzinfo=UTC)
    assert full_timestamp(when, zone=LONDON) == "Mon 16 Feb 2026, 14:23:05 GMT"


@pytest.mark.parametrize(
    ("ago", "reads"),
    [
        (timedelta(seconds=10), "just now"),
        (timedelta(seconds=-30), "just now"),  # a clock slightly ahead
        (timedelta(minutes=1), "1 min ago"),
        (timedelta(minutes=5), "5 min ago"),
        (timedelta(hours=1), "1 h ago"),
        (timedelta(hours=2, minutes=10), "2 h ago"),
        (timedelta(hours=30), "yesterday"),
        (timedelta(days=3), "3 days ago"),
        (timedelta(days=65), "2 months ago"),
        (timedelta(days=800), "2 years ago"),
    ],
)
def test_relative_time(ago: timedelta, reads: str) -> None:
    assert relative_time(NOW - ago, now=NOW) == reads
