"""Reading the log: feed pages, counts, one order's timeline, the order read model."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Select,
    and_,
    func,
    literal,
    literal_column,
    select,
    text,
    true,
    tuple_,
)
from sqlalchemy.ext.asyncio import AsyncEngine

from shoptrail.activity.adapters.order_numbers import name_orders
from shoptrail.activity.adapters.search import Search, escape_like, search_clause
from shoptrail.activity.adapters.tables import activity_counts, activity_log, orders
from shoptrail.activity.domain.feed import (
    ATTENTION_LEVELS,
    CHANGES_LIMIT,
    PAGE_SIZE,
    SEARCH_COUNT_CAP,
    Cursor,
    Direction,
    FeedChanges,
    FeedFilter,
    FeedPage,
    Tab,
)

t = activity_log
NUMBER_CHANGES = "SELECT activity_number_changes()"
"""The sequencer (migration 0011): numbers what has committed, returns the newest number.
Readers run it first, so a change committed before a read is in that read."""
FOLD_COUNTS = "SELECT activity_fold_counts()"
OPEN_GROUPS = "SELECT count(*) FROM activity_groups WHERE resolved_at IS NULL"
"""The badge: open groups of failures, by the partial index `activity_groups_open`."""

# Literal SQL, not bound parameters: the planner can only use a partial index
# when the query states its predicate itself.
NOT_DEBUG: ColumnElement[bool] = literal_column("activity_log.level <> 'debug'", Boolean)
NEEDS_ATTENTION: ColumnElement[bool] = literal_column(
    "activity_log.level IN ('warning', 'error') AND activity_log.resolved_at IS NULL", Boolean
)


def filter_clause(f: FeedFilter) -> ColumnElement[bool]:
    """The WHERE clause for a feed filter (shared by pages, counts and bulk resolve)."""
    clauses: list[ColumnElement[bool]] = []
    if f.tab is Tab.ATTENTION:
        clauses.append(NEEDS_ATTENTION)
    elif f.hides_debug:
        clauses.append(NOT_DEBUG)
    if f.categories:
        clauses.append(t.c.category.in_(f.categories))
    if f.levels:
        clauses.append(t.c.level.in_(f.levels))
    if f.order_id:
        clauses.append(t.c.order_id == f.order_id)
    if f.since is not None:
        clauses.append(t.c.occurred_at >= f.since)
    if f.until is not None:
        clauses.append(t.c.occurred_at < f.until)
    if f.search:
        clauses.append(search_clause(f.search))
    return and_(true(), *clauses)


def _page(
    rows: list[Any],
    f: FeedFilter,
    cursor: Cursor | None,
    direction: Direction,
    limit: int,
    total: int,
    capped: bool,
    seq: int,
) -> FeedPage:
    """A page from up to `limit + 1` rows in feed order (one more says there are more)."""
    more = len(rows) > limit
    rows = rows[:limit]
    if direction == "newer":
        rows.reverse()
    entries = [entry_dict(r) for r in rows]
    first = Cursor(rows[0].occurred_at, rows[0].id) if rows else None
    last = Cursor(rows[-1].occurred_at, rows[-1].id) if rows else None
    if direction == "older":
        older = last if more else None
        newer = first if cursor is not None else None
    else:
        newer = first if more else None
        older = last
    return FeedPage(entries, older, newer, total, capped, f, seq)


def entry_dict(row: Any) -> dict[str, Any]:
    entry = dict(row._mapping)
    entry["needs_attention"] = entry["level"] in ATTENTION_LEVELS and not entry["resolved_at"]
    return entry


async def _numbered(conn: Any) -> int:
    """Number the changes committed so far (committed at once); the newest number."""
    seq = int(await conn.scalar(text(NUMBER_CHANGES)) or 0)
    await conn.commit()
    return seq


@dataclass
class LogQueries:
    """Read-only queries; every one is served by an index (see the migration)."""

    engine: AsyncEngine

    async def feed(
        self,
        f: FeedFilter,
        *,
        cursor: Cursor | None = None,
        direction: Direction = "older",
        limit: int = PAGE_SIZE,
    ) -> FeedPage:
        """One page of the feed, newest first, from `cursor` in `direction`."""
        if f.search:
            return await self._search(f, cursor=cursor, direction=direction, limit=limit)
        stmt: Select[Any] = select(t).where(filter_clause(f))
        key = tuple_(t.c.occurred_at, t.c.id)
        if direction == "older":
            if cursor:
                stmt = stmt.where(key < tuple_(literal(cursor.occurred_at), literal(cursor.id)))
            stmt = stmt.order_by(t.c.occurred_at.desc(), t.c.id.desc())
        else:
            if cursor:
                stmt = stmt.where(key > tuple_(literal(cursor.occurred_at), literal(cursor.id)))
            stmt = stmt.order_by(t.c.occurred_at.asc(), t.c.id.asc())
        async with self.engine.connect() as conn:
            # Read first: every change up to this number is in what the page query sees.
            seq = await _numbered(conn)
            rows = list((await conn.execute(stmt.limit(limit + 1))).all())
            if cursor is None and len(rows) <= limit and (f.order_id or f.dated):
                total, capped = len(rows), False  # the page holds every match: no second scan
            else:
                total, capped = await self._total(conn, f)
            page = _page(rows, f, cursor, direction, limit, total, capped, seq)
            await name_orders(conn, page.entries)
        return page

    async def _search(
        self, f: FeedFilter, *, cursor: Cursor | None, direction: Direction, limit: int
    ) -> FeedPage:
        """A search page: newest matches first, never a scan of the log (see `search`)."""
        assert f.search is not None
        base = filter_clause(replace(f, search=None))
        async with self.engine.connect() as conn:
            seq = await _numbered(conn)
            base_total = await self._counted(conn, replace(f, search=None))
            search = await Search.start(conn, base, base_total, f.search)
            rows, counted = await search.page(cursor=cursor, direction=direction, limit=limit + 1)
            if counted is None:
                counted = await search.total()
            page = _page(rows, f, cursor, direction, limit, *counted, seq)
            await name_orders(conn, page.entries)
        return page

    async def changes(
        self, f: FeedFilter, *, since: int, limit: int = CHANGES_LIMIT
    ) -> FeedChanges:
        """The entries changes after `since` touched, as they are now, at most `limit` of them.

        Whole changes only: the answer's `seq` is exact, so asking again from it
        misses nothing and repeats nothing. Change numbers follow commit order
        (see migration 0011), so a reader that has seen change N has seen all before it.
        """
        async with self.engine.connect() as conn:
            await _numbered(conn)
            changes = (
                await conn.execute(
                    text(
                        "SELECT seq, kind, entry_ids, inserted FROM activity_changes "
                        "WHERE seq > :since ORDER BY seq LIMIT :n"
                    ),
                    {"since": since, "n": limit + 1},
                )
            ).all()
            bounds = (
                await conn.execute(
                    text(
                        "SELECT min(seq) AS oldest, coalesce(max(seq), 0) AS latest "
                        "FROM activity_changes"
                    )
                )
            ).one()
            gone = since > bounds.latest or (
                bounds.oldest is not None and since < bounds.oldest - 1
            )
            seq, ids, new, reload = since, set[int](), set[int](), gone
            for change in () if gone else changes:
                touched = ids | set(change.entry_ids)
                if change.kind == "reload" or (len(touched) > limit and not ids):
                    reload = True  # a rebuild, or one change larger than a reader takes
                    break
                if len(touched) > limit:
                    break  # the rest next time
                seq, ids = change.seq, touched
                new.update(change.entry_ids[: change.inserted])
            if reload:
                return FeedChanges(since, int(bounds.latest), [], reload=True)
            complete = len(changes) <= limit and (not changes or seq == changes[-1].seq)
            entries: list[dict[str, Any]] = []
            if ids:
                matches = filter_clause(f).label("matches")
                stmt = (
                    select(t, matches)
                    .where(t.c.id.in_(sorted(ids)))
                    .order_by(t.c.occurred_at.desc(), t.c.id.desc())
                )
                entries = [
                    entry_dict(r) | {"inserted": r.id in new}
                    for r in (await conn.execute(stmt)).all()
                ]
                await name_orders(conn, entries)
        return FeedChanges(since, seq, entries, complete=complete)

    async def _total(self, conn: Any, f: FeedFilter) -> tuple[int, bool]:
        # One order's entries (few, and indexed), or a date range the per-category
        # counts know nothing of: counted, up to the cap ("1,000+").
        if f.order_id or f.dated:
            inner = select(literal(1)).select_from(t).where(filter_clause(f))
            capped = inner.limit(SEARCH_COUNT_CAP + 1).subquery()
            n = int(await conn.scalar(select(func.count()).select_from(capped)) or 0)
            return min(n, SEARCH_COUNT_CAP), n > SEARCH_COUNT_CAP
        return await self._counted(conn, f), False

    async def _counted(self, conn: Any, f: FeedFilter) -> int:
        c = activity_counts
        stmt = select(func.coalesce(func.sum(c.c.n), 0))
        if f.tab is Tab.ATTENTION:
            stmt = stmt.where(c.c.level.in_(ATTENTION_LEVELS), c.c.open.is_(True))
        elif f.hides_debug:
            stmt = stmt.where(c.c.level != "debug")
        if f.categories:
            stmt = stmt.where(c.c.category.in_(f.categories))
        if f.levels:
            stmt = stmt.where(c.c.level.in_(f.levels))
        return int(await conn.scalar(stmt) or 0)

    async def attention_count(self) -> int:
        """How many problems need attention (the badge): open groups of failures.

        A provider outage is one problem however many entries it made
        (adapters/groups.py); `attention_entries` still counts the entries.
        """
        async with self.engine.connect() as conn:
            return int(await conn.scalar(text(OPEN_GROUPS)) or 0)

    async def attention_entries(self) -> int:
        """How many warnings and errors are unresolved, one by one."""
        async with self.engine.connect() as conn:
            return await self._counted(conn, FeedFilter(tab=Tab.ATTENTION))

    async def entry(self, entry_id: int) -> dict[str, Any] | None:
        async with self.engine.connect() as conn:
            row = (await conn.execute(select(t).where(t.c.id == entry_id))).first()
            if row is None:
                return None
            found = entry_dict(row)
            await name_orders(conn, [found])
        return found

    async def timeline(self, order_id: str, *, include_debug: bool = False) -> list[dict[str, Any]]:
        """One order's whole story, oldest first."""
        stmt = select(t).where(t.c.order_id == order_id)
        if not include_debug:
            stmt = stmt.where(NOT_DEBUG)
        stmt = stmt.order_by(t.c.occurred_at, t.c.id)
        async with self.engine.connect() as conn:
            entries = [entry_dict(r) for r in (await conn.execute(stmt)).all()]
            await name_orders(conn, entries)
        return entries

    async def orders(
        self, *, search: str | None = None, status: str | None = None, limit: int = PAGE_SIZE
    ) -> list[dict[str, Any]]:
        """Newest orders first, optionally by status or by number/email prefix."""
        o = orders
        stmt = select(o).order_by(o.c.created_at.desc().nulls_last(), o.c.order_id.desc())
        if status:
            stmt = stmt.where(o.c.status == status)
        if search:
            like = f"{escape_like(search)}%"
            stmt = stmt.where(
                o.c.order_number.ilike(like, escape="\\")
                | o.c.customer_email.ilike(like, escape="\\")
                | (o.c.order_id == search)
            )
        async with self.engine.connect() as conn:
            return [dict(r._mapping) for r in (await conn.execute(stmt.limit(limit))).all()]

    async def order(self, order_id: str) -> dict[str, Any] | None:
        async with self.engine.connect() as conn:
            row = (await conn.execute(select(orders).where(orders.c.order_id == order_id))).first()
        return dict(row._mapping) if row else None
