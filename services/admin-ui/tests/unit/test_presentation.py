"""Escaping, links, feed query strings and which actions a row offers."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from shoptrail.admin_ui.config import Settings
from shoptrail.admin_ui.domain.feed_query import FeedQuery
from shoptrail.admin_ui.domain.models import Entry
from shoptrail.admin_ui.domain.presentation import actions_for, event_label, how_many
from shoptrail.admin_ui.entrypoints.web import build_templates, safe_href

HOSTILE = '<script>window.__pwned=1</script><img src=x onerror="alert(1)">'


def entry(**fields: Any) -> Entry:
    values: dict[str, Any] = {
        "id": 7,
        "event_type": "order.submission_failed",
        "category": "fulfilment",
        "level": "error",
        "order_id": "ord_1",
        "message": "Submission to Printify failed: out of stock",
        "payload": {"provider": "Printify"},
        "occurred_at": datetime(2026, 2, 16, 9, 0, tzinfo=UTC),
        "needs_attention": True,
    }
    return Entry.model_validate(values | fields)


def render_rows(*entries: Entry) -> str:
    env = build_templates(Settings(environment="test"))
    return env.get_template("_entry_rows.html").render(
        entries=list(entries), now=datetime.now(UTC), csrf_token="t", back="/admin/activity"
    )


class TestEscaping:
    def test_hostile_message_and_payload_render_as_text(self) -> None:
        html = render_rows(entry(message=HOSTILE, order_id='"><script>x</script>'))
        assert "<script>" not in html
        assert "<img" not in html
        assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in html
        assert "onerror=&#34;alert(1)&#34;" in html
        assert "/admin/orders/%22%3E%3Cscript%3Ex%3C%2Fscript%3E" in html

    @pytest.mark.parametrize(
        "url", ["javascript:alert(1)", "JavaScript:alert(1)", "data:text/html,x", None, 42]
    )
    def test_only_http_links_are_clickable(self, url: object) -> None:
        assert safe_href(url) is None

    def test_http_links_are(self) -> None:
        assert safe_href("https://track.example/1Z") == "https://track.example/1Z"


class TestActions:
    def test_a_failed_submission_offers_retry_resolve_and_dismiss(self) -> None:
        actions = actions_for(entry())
        assert actions.resolve and actions.retry_submission
        assert actions.retry_sync_provider is None

    def test_a_failed_sync_offers_retry_sync_for_its_provider(self) -> None:
        failed = entry(event_type="sync.failed", order_id=None, payload={"provider": "Printful"})
        assert actions_for(failed).retry_sync_provider == "Printful"
        assert not actions_for(failed).retry_submission

    def test_nothing_once_resolved_or_for_info(self) -> None:
        assert not actions_for(entry(needs_attention=False)).any
        assert not actions_for(entry(level="info", needs_attention=False)).any

    def test_counts_read_with_separators_and_a_capped_one_with_a_plus(self) -> None:
        assert [how_many(1), how_many(12345), how_many(1000, capped=True)] == [
            "1",
            "12,345",
            "1,000+",
        ]

    def test_labels(self) -> None:
        assert event_label("order.submission_failed") == "Submission failed"
        assert event_label("brand.new_type") == "brand.new_type"


class TestFeedQuery:
    def test_round_trip_through_the_query_string(self) -> None:
        query = FeedQuery.parse(
            {"tab": "attention", "q": "  stock ", "after": "abc"}, ["syncs", "nonsense", "orders"]
        )
        assert query == FeedQuery(
            tab="attention", categories=("orders", "syncs"), q="stock", after="abc"
        )
        assert (
            query.url()
            == "/admin/activity?tab=attention&category=orders&category=syncs&q=stock&after=abc"
        )
        assert (
            query.first_page.url()
            == "/admin/activity?tab=attention&category=orders&category=syncs&q=stock"
        )
        assert (
            query.with_tab("all").url() == "/admin/activity?category=orders&category=syncs&q=stock"
        )
        assert ("limit", "50") in query.api_params(50)

    def test_unknown_tab_is_all(self) -> None:
        assert FeedQuery.parse({"tab": "<x>"}, []).tab == "all"
