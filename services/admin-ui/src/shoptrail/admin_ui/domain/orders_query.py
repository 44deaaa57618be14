"""What the orders list is asked for: read from the query string, written back into links."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, tzinfo
from urllib.parse import urlencode

from shoptrail.admin_ui.domain.day_range import DayRange, parse_day
from shoptrail.admin_ui.domain.presentation import ORDER_STATUS_LABELS

MAX_SEARCH = 200
MAX_CURSOR = 1_000


@dataclass(frozen=True)
class OrdersQuery:
    """Search, status, the days placed, and the page's cursor."""

    q: str = ""
    status: str = ""
    days: DayRange = field(default_factory=DayRange)
    after: str | None = None
    before: str | None = None

    @classmethod
    def parse(cls, params: Mapping[str, str], *, zone: tzinfo = UTC) -> OrdersQuery:
        """From query parameters; an unknown status or a malformed day is ignored, not an error."""
        status = params.get("status") or ""
        after = (params.get("after") or "")[:MAX_CURSOR] or None
        before = (params.get("before") or "")[:MAX_CURSOR] or None
        return cls(
            q=(params.get("q") or "").strip()[:MAX_SEARCH],
            status=status if status in ORDER_STATUS_LABELS else "",
            days=DayRange(parse_day(params.get("from")), parse_day(params.get("to")), zone),
            after=after,
            before=None if after else before,
        )

    @property
    def filtered(self) -> bool:
        return bool(self.q or self.status or self.days.any)

    @property
    def first_page(self) -> OrdersQuery:
        return replace(self, after=None, before=None)

    def with_status(self, status: str) -> OrdersQuery:
        return replace(self.first_page, status=status)

    def api_params(self, limit: int) -> list[tuple[str, str]]:
        params = [("limit", str(limit)), *self.days.api_params()]
        if self.q:
            params.append(("q", self.q))
        if self.status:
            params.append(("status", self.status))
        if self.after:
            params.append(("after", self.after))
        elif self.before:
            params.append(("before", self.before))
        return params

    def url(self, path: str = "/admin/orders") -> str:
        params: list[tuple[str, str]] = []
        if self.q:
            params.append(("q", self.q))
        if self.status:
            params.append(("status", self.status))
        params += self.days.url_params()
        if self.after:
            params.append(("after", self.after))
        elif self.before:
            params.append(("before", self.before))
        return f"{path}?{urlencode(params)}" if params else path

    def older(self, cursor: str) -> OrdersQuery:
        return replace(self, after=cursor, before=None)

    def newer(self, cursor: str) -> OrdersQuery:
        return replace(self, after=None, before=cursor)
