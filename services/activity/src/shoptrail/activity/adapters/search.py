"""Searching the log without scanning it: newest entries first, then the indexes.

A search's page must not read the whole log, however common or rare its words.
Each plan is bounded:

1. **Recent walk.** Read the newest `RECENT_WINDOW` entries (the feed index,
   newest first) and keep those that match, stopping at the page: common
   words fill it here. When some match but too few, walk on as far as the
   page is likely to need, if that reads fewer entries than the index's
   candidates would be (at most `WALK_LIMIT`).
2. **Index candidates.** Otherwise the term is rare (among recent entries at
   least): the trigram index is asked for the term's rarest part (of its
   words and itself, the one fewest of the newest `SAMPLE` entries contain;
   see `index_fragments`), the whole term is checked on those candidates, and
   the newest are kept, with their exact count. Index scans, which would walk
   the log, are off for the rest of the request, so the planner cannot fall
   back on one.
3. **Identifiers** (one word with a digit or @) skip the walk: an order number,
   email, tracking number or provider id names orders in the order read model
   (indexed, migration 0007), and the entries of those orders (the timeline
   index) match; an email also the messages that mention it (abandoned carts,
   checkouts with no order), from the trigram index.

Totals are capped at `SEARCH_COUNT_CAP` ("1,000+"): counted among the walked
entries, estimated from them when matches are common there, else counted
among the index's candidates up to the cap.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    Subquery,
    and_,
    exists,
    func,
    literal,
    or_,
    select,
    text,
    true,
    tuple_,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from shoptrail.activity.adapters.tables import activity_log, orders
from shoptrail.activity.domain.feed import (
    SEARCH_COUNT_CAP,
    Cursor,
    Direction,
    index_fragments,
    looks_like_identifier,
)

t = activity_log
RECENT_WINDOW = 2_000
"""Newest entries a search reads before it asks the index (a few ms of work)."""
SAMPLE = 500
"""Newest entries that tell how common each part of a term is (see `index_fragments`)."""
WALK_LIMIT = 100_000
"""The most entries a search walks, however common its matches look."""
ESTIMATE_FROM = 20
"""Matches among the walked entries from which the total is estimated, not counted."""


def escape_like(term: str) -> str:
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def named_orders(term: str) -> Select[Any]:
    """The orders an identifier names, from the order read model's indexes."""
    o, key = orders, func.lower(term)
    return select(o.c.order_id).where(
        or_(
            o.c.order_id == term,
            func.lower(o.c.order_number) == key,
            func.lower(o.c.customer_email) == key,
            func.lower(o.c.tracking_number) == key,
            func.lower(o.c.provider_order_id) == key,
        )
    )


def search_clause(term: str) -> ColumnElement[bool]:
    """Entries a search for `term` finds, as one SQL condition: what its pages show.

    Bulk resolve and live changes use it, so "resolve all matching" resolves the
    entries the owner saw, no more: the rule is `Search._found`'s, with the
    orders looked up by the statement itself (a page looks them up first).
    """
    mentions = _mentions(t.c, term, term)
    if not looks_like_identifier(term):
        return mentions
    of_named: ColumnElement[bool] = t.c.order_id.in_(named_orders(term))
    if "@" in term:
        return or_(mentions, of_named)
    # An order number, tracking number or provider id the read model knows: its
    # orders' entries only; one it does not know: the messages that mention it.
    known = exists(named_orders(term))
    return or_(and_(known, of_named), and_(~known, mentions))


def _mentions(c: Any, term: str, fragment: str) -> ColumnElement[bool]:
    """`c.message ILIKE %term%`, with the trigram index asked for `fragment` only."""
    ilike: ColumnElement[bool] = c.message.ilike(f"%{escape_like(fragment)}%", escape="\\")
    if fragment == term:
        return ilike
    # lower(m) LIKE lower(p) is how PostgreSQL evaluates m ILIKE p; written so, the
    # planner cannot hand the whole term's trigrams to the index.
    whole = func.lower(c.message).like(func.lower(f"%{escape_like(term)}%"), escape="\\")
    return ilike & whole


def _key_order(direction: Direction, c: Any = t.c) -> list[Any]:
    if direction == "older":
        return [c.occurred_at.desc(), c.id.desc()]
    return [c.occurred_at.asc(), c.id.asc()]


def _from(cursor: Cursor | None, direction: Direction, c: Any = t.c) -> ColumnElement[bool]:
    if cursor is None:
        return true()
    key = tuple_(c.occurred_at, c.id)
    bound = tuple_(literal(cursor.occurred_at), literal(cursor.id))
    return key < bound if direction == "older" else key > bound


def _recent(where: ColumnElement[bool], direction: Direction, n: int) -> Subquery:
    """The next `n` entries in feed order: a bounded walk of the feed index."""
    return select(t).where(where).order_by(*_key_order(direction)).limit(n).subquery()


@dataclass
class Search:
    """One search over the entries `base` lets through, on one connection."""

    conn: AsyncConnection
    base: ColumnElement[bool]
    base_total: int  # entries `base` lets through
    term: str
    order_ids: list[str] = field(default_factory=list)
    fragment: str | None = None
    walked: int = 0  # the largest window walked so far

    @classmethod
    async def start(
        cls, conn: AsyncConnection, base: ColumnElement[bool], base_total: int, term: str
    ) -> Search:
        order_ids: list[str] = []
        if looks_like_identifier(term):
            order_ids = list((await conn.scalars(named_orders(term).limit(1000))).all())
        return cls(conn, base, base_total, term, order_ids)

    def _found(self, c: Any, fragment: str) -> ColumnElement[bool]:
        if self.order_ids and "@" not in self.term:
            # An order number, tracking number or provider id the read model knows is
            # mentioned in its orders' entries only: the timeline index finds them all.
            of_orders: ColumnElement[bool] = c.order_id.in_(self.order_ids)
            return of_orders
        mentions = _mentions(c, self.term, fragment)
        return or_(mentions, c.order_id.in_(self.order_ids)) if self.order_ids else mentions

    async def _rarest_fragment(self) -> str:
        """The part of the term the index is asked for (see `index_fragments`).

        An identifier is rare by nature: the whole of it (an email's part before
        its domain). Words: the one fewest of the newest SAMPLE entries contain
        (the first such word, before the whole term: fewer trigrams to read).
        """
        if self.fragment is None:
            parts = index_fragments(self.term)
            if looks_like_identifier(self.term) or len(parts) == 1:
                self.fragment = parts[0]
            else:
                sample = _recent(self.base, "older", SAMPLE)
                counts = (
                    await self.conn.execute(
                        select(*(func.count().filter(_mentions(sample.c, p, p)) for p in parts))
                    )
                ).one()
                self.fragment = parts[counts.index(min(counts))]
        return self.fragment

    async def _without_walking(self, stmt: Any) -> Any:
        """`stmt` on the indexes' candidates (bitmap scans): the planner may not walk the log.

        For the rest of this transaction, which ends with the request.
        """
        await self.conn.execute(text("SET LOCAL enable_indexscan = off"))
        return (await self.conn.execute(stmt)).one()

    async def _walk(
        self, cursor: Cursor | None, direction: Direction, limit: int, window: int
    ) -> list[Any]:
        recent = _recent(and_(self.base, _from(cursor, direction)), direction, window)
        walk = select(recent).where(self._found(recent.c, self.term))
        walk = walk.order_by(*_key_order(direction, recent.c)).limit(limit)
        self.walked = max(self.walked, window)
        return list((await self.conn.execute(walk)).all())

    async def page(
        self, *, cursor: Cursor | None, direction: Direction, limit: int
    ) -> tuple[list[Any], tuple[int, bool] | None]:
        """Up to `limit` matches from `cursor` in feed order, and the total if it came free.

        Walk the newest entries first; when few match there, walk on as far as
        the page is likely to need if that reads fewer entries than the index's
        candidates would be (the share of matches times the entries there are).
        """
        if not looks_like_identifier(self.term):
            rows = await self._walk(cursor, direction, limit, RECENT_WINDOW)
            share = len(rows) / RECENT_WINDOW
            if len(rows) >= limit:
                return rows, None
            if share and limit / share < min(share * self.base_total, WALK_LIMIT):
                rows = await self._walk(cursor, direction, limit, math.ceil(1.5 * limit / share))
                if len(rows) >= limit:
                    return rows, None
        # Rare (an identifier, or few among recent entries): the candidates the indexes
        # give, never a walk of the log.
        matches = (
            select(t.c.id, t.c.occurred_at)
            .where(self.base, self._found(t.c, await self._rarest_fragment()))
            .cte("matches")
            .prefix_with("MATERIALIZED")
        )
        m = matches.c
        chosen = select(m.id).where(_from(cursor, direction, m))
        chosen = chosen.order_by(*_key_order(direction, m)).limit(limit)
        total, ids = await self._without_walking(
            select(
                select(func.count()).select_from(matches).scalar_subquery(),
                func.array(chosen.scalar_subquery()),
            )
        )
        stmt = select(t).where(t.c.id.in_(ids)).order_by(*_key_order(direction))
        rows = list((await self.conn.execute(stmt)).all()) if ids else []
        return rows, (min(total, SEARCH_COUNT_CAP), total > SEARCH_COUNT_CAP)

    async def total(self) -> tuple[int, bool]:
        """How many entries match, up to SEARCH_COUNT_CAP (and whether there are more).

        Counted among the newest entries when they hold the answer; estimated from
        them when matches are common there; else counted among the indexes' candidates,
        stopping at the cap.
        """
        window = self.walked or RECENT_WINDOW
        recent = _recent(self.base, "older", window)
        found = select(literal(1)).select_from(recent).where(self._found(recent.c, self.term))
        capped = found.limit(SEARCH_COUNT_CAP + 1).subquery()
        n = int(await self.conn.scalar(select(func.count()).select_from(capped)) or 0)
        if n > SEARCH_COUNT_CAP:
            return SEARCH_COUNT_CAP, True
        if self.base_total <= window:
            return n, False
        if n >= ESTIMATE_FROM and n * self.base_total / window > SEARCH_COUNT_CAP:
            return SEARCH_COUNT_CAP, True
        candidates = (
            select(literal(1))
            .select_from(t)
            .where(self.base, self._found(t.c, await self._rarest_fragment()))
            .limit(SEARCH_COUNT_CAP + 1)
            .subquery()
        )
        (n,) = await self._without_walking(select(func.count()).select_from(candidates))
        return min(n, SEARCH_COUNT_CAP), n > SEARCH_COUNT_CAP
