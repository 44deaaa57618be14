"""Levels, days and the orders list's filters: read from the query string, written back."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from shoptrail.admin_ui.domain.day_range import DayRange, parse_day
from shoptrail.admin_ui.domain.feed_query import FeedQuery
from shoptrail.admin_ui.domain.orders_query import OrdersQuery

LONDON = ZoneInfo("Europe/London")


class TestDayRange:
    def test_the_last_day_is_included_on_the_shops_clock(self) -> None:
        days = DayRange(date(2026, 7, 1), date(2026, 7, 3), LONDON)  # summer time: UTC+1
        assert days.api_params() == [
            ("since", "2026-07-01T00:00:00+01:00"),
            ("until", "2026-07-04T00:00:00+01:00"),
        ]
        assert days.api_params(("from", "to"))[1][0] == "to"
        assert days.url_params() == [("from", "2026-07-01"), ("to", "2026-07-03")]

    def test_a_malformed_day_is_no_day(self) -> None:
        assert [parse_day(v) for v in ("2026-02-30", "yesterday", "", None)] == [None] * 4
        assert parse_day(" 2026-12-01 ") == date(2026, 12, 1)


class TestFeedLevelsAndDays:
    def test_levels_and_days_round_trip_and_reach_the_api_as_instants(self) -> None:
        query = FeedQuery.parse(
            {"from": "2026-12-01", "to": "2026-12-02"},
            [],
            ["error", "nonsense", "info"],
            zone=LONDON,
        )
        assert query.levels == ("info", "error")
        assert query.url() == (
            "/admin/activity?level=info&level=error&from=2026-12-01&to=2026-12-02"
        )
        assert query.filter_params()[-2:] == [
            ("from", "2026-12-01T00:00:00+00:00"),
            ("to", "2026-12-03T00:00:00+00:00"),
        ]
        assert query.filtered and not query.cleared.filtered
        assert query.older("c").url().endswith("&after=c")


class TestOrdersQuery:
    def test_round_trip_and_cursors(self) -> None:
        query = OrdersQuery.parse(
            {"q": " SS-26 ", "status": "shipped", "from": "2026-12-01", "after": "abc"}
        )
        assert query.url() == "/admin/orders?q=SS-26&status=shipped&from=2026-12-01&after=abc"
        assert query.first_page.url() == "/admin/orders?q=SS-26&status=shipped&from=2026-12-01"
        assert query.with_status("").url() == "/admin/orders?q=SS-26&from=2026-12-01"
        assert query.newer("xyz").url().endswith("&before=xyz")
        assert ("since", "2026-12-01T00:00:00+00:00") in query.api_params(50)
        assert ("after", "abc") in query.api_params(50)

    def test_unknown_status_and_bad_days_are_ignored(self) -> None:
        query = OrdersQuery.parse({"status": "<x>", "to": "31/12/2026"})
        assert query == OrdersQuery() and not query.filtered
