"""A range of days the owner picks ("from 1 Dec to 3 Dec"), as the times the APIs take.

The owner thinks in days on the shop's clock, both ends included; the services
compare instants, `since` included and `until` excluded. So "to 3 Dec" is
"until midnight starting 4 Dec" on the shop's clock, whatever its zone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo


def parse_day(value: str | None) -> date | None:
    """A `YYYY-MM-DD` (what `<input type=date>` sends); anything else is no day, not an error."""
    try:
        return date.fromisoformat(value.strip()) if value else None
    except ValueError:
        return None


@dataclass(frozen=True)
class DayRange:
    first: date | None = None
    last: date | None = None
    zone: tzinfo = UTC

    @property
    def any(self) -> bool:
        return self.first is not None or self.last is not None

    def url_params(self) -> list[tuple[str, str]]:
        """For our own links: the days as picked."""
        params: list[tuple[str, str]] = []
        if self.first:
            params.append(("from", self.first.isoformat()))
        if self.last:
            params.append(("to", self.last.isoformat()))
        return params

    def api_params(self, names: tuple[str, str] = ("since", "until")) -> list[tuple[str, str]]:
        """For the services: the first instant included and the first excluded.

        The orders API names them `since`/`until`; the feed's, `from`/`to` (its
        `/feed/changes` has a `since` of its own).
        """
        params: list[tuple[str, str]] = []
        if self.first:
            params.append((names[0], self._midnight(self.first).isoformat()))
        if self.last:
            params.append((names[1], self._midnight(self.last + timedelta(days=1)).isoformat()))
        return params

    def _midnight(self, day: date) -> datetime:
        return datetime.combine(day, time(0), tzinfo=self.zone)
