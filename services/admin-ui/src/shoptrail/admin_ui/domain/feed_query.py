"""What the reader asked the feed for: read from the query string, written back into links."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, tzinfo
from typing import Literal
from urllib.parse import urlencode

from shoptrail.admin_ui.domain.day_range import DayRange, parse_day
from shoptrail.events import Category

CATEGORIES: tuple[str, ...] = tuple(c.value for c in Category)
LEVELS: tuple[str, ...] = ("info", "warning", "error", "debug")
Tab = Literal["all", "attention"]
MAX_SEARCH = 200


@dataclass(frozen=True)
class FeedQuery:
    """Tab, category and level filters, search text, days, and the page's cursor."""

    tab: Tab = "all"
    categories: tuple[str, ...] = ()
    q: str = ""
    after: str | None = None
    before: str | None = None
    levels: tuple[str, ...] = ()
    days: DayRange = field(default_factory=DayRange)

    @classmethod
    def parse(
        cls,
        params: Mapping[str, str],
        categories: Sequence[str],
        levels: Sequence[str] = (),
        *,
        zone: tzinfo = UTC,
    ) -> FeedQuery:
        """From query parameters; unknown categories, levels, tabs and days are ignored."""
        tab: Tab = "attention" if params.get("tab") == "attention" else "all"
        chosen = tuple(c for c in CATEGORIES if c in categories)
        return cls(
            tab=tab,
            categories=chosen,
            levels=tuple(lv for lv in LEVELS if lv in levels),
            days=DayRange(parse_day(params.get("from")), parse_day(params.get("to")), zone),
            q=(params.get("q") or "").strip()[:MAX_SEARCH],
            after=params.get("after") or None,
            before=None if params.get("after") else params.get("before") or None,
        )

    @property
    def first_page(self) -> FeedQuery:
        return replace(self, after=None, before=None)

    @property
    def cleared(self) -> FeedQuery:
        """The same tab with no filters."""
        return FeedQuery(tab=self.tab)

    @property
    def filtered(self) -> bool:
        return bool(self.categories or self.levels or self.q or self.days.any)

    @property
    def is_first_page(self) -> bool:
        return self.after is None and self.before is None

    def _shared_params(self) -> list[tuple[str, str]]:
        params: list[tuple[str, str]] = [("tab", self.tab)]
        params += [("category", c) for c in self.categories]
        params += [("level", lv) for lv in self.levels]
        if self.q:
            params.append(("q", self.q))
        return params

    def filter_params(self) -> list[tuple[str, str]]:
        """Tab, categories, levels, search and the days, as the activity API takes them."""
        return [*self._shared_params(), *self.days.api_params(("from", "to"))]

    def link_params(self) -> list[tuple[str, str]]:
        """The same filters as our own links carry them (days as picked)."""
        return [*self._shared_params(), *self.days.url_params()]

    def api_params(self, limit: int) -> list[tuple[str, str]]:
        params = [*self.filter_params(), ("limit", str(limit))]
        if self.after:
            params.append(("after", self.after))
        elif self.before:
            params.append(("before", self.before))
        return params

    def url(self, path: str = "/admin/activity") -> str:
        params = [p for p in self.link_params() if p != ("tab", "all")]
        if self.after:
            params.append(("after", self.after))
        elif self.before:
            params.append(("before", self.before))
        return f"{path}?{urlencode(params)}" if params else path

    def with_tab(self, tab: Tab) -> FeedQuery:
        return replace(self.first_page, tab=tab)

    def older(self, cursor: str) -> FeedQuery:
        return replace(self, after=cursor, before=None)

    def newer(self, cursor: str) -> FeedQuery:
        return replace(self, after=None, before=cursor)
