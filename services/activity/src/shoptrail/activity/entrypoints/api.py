"""The activity HTTP API: feed, counts, timeline, orders, resolve actions."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request

from shoptrail.activity.adapters.queries import LogQueries
from shoptrail.activity.adapters.resolutions import NotResolvableError, Resolutions
from shoptrail.activity.domain.feed import Cursor, FeedFilter, InvalidCursorError, Tab
from shoptrail.activity.entrypoints.schemas import (
    ChangedEntryOut,
    CountOut,
    EntryOut,
    FeedChangesOut,
    FeedPageOut,
    OrderOut,
    ResolvedOut,
    ResolveIn,
)
from shoptrail.activity.metrics import Metrics
from shoptrail.events import Category, Level
from shoptrail.events.hygiene import MAX_ID
from shoptrail.kit.inputs import BIGINT_MAX

router = APIRouter(prefix="/api", tags=["activity"])

NO_ENTRY: dict[int | str, dict[str, Any]] = {404: {"description": "No such entry."}}
NOT_RESOLVABLE: dict[int | str, dict[str, Any]] = {
    **NO_ENTRY,
    409: {"description": "Only warnings and errors can be resolved or dismissed."},
}
EntryId = Annotated[int, Path(ge=1, le=BIGINT_MAX, description="A log entry's id.")]
OrderId = Annotated[str, Path(min_length=1, max_length=MAX_ID)]


def _queries(request: Request) -> LogQueries:
    queries: LogQueries = request.app.state.queries
    return queries


def _resolutions(request: Request) -> Resolutions:
    resolutions: Resolutions = request.app.state.resolutions
    return resolutions


QueriesDep = Annotated[LogQueries, Depends(_queries)]
ResolutionsDep = Annotated[Resolutions, Depends(_resolutions)]


@contextmanager
def timed(request: Request, name: str) -> Iterator[None]:
    metrics: Metrics = request.app.state.metrics
    with metrics.query_seconds.labels(name).time():
        yield


def feed_filter(
    tab: Tab = Tab.ALL,
    category: Annotated[list[Category] | None, Query()] = None,
    level: Annotated[list[Level] | None, Query()] = None,
    q: Annotated[str | None, Query(max_length=200, description="Text search in messages")] = None,
    include_debug: bool = False,
    # `from`/`to`, not `since`/`until`: `/feed/changes` takes these filters and its own `since`.
    occurred_from: Annotated[
        datetime | None,
        Query(alias="from", description="Entries that happened at or after this time."),
    ] = None,
    occurred_to: Annotated[
        datetime | None, Query(alias="to", description="Entries that happened before this time.")
    ] = None,
) -> FeedFilter:
    return FeedFilter(
        tab=tab,
        categories=tuple(c.value for c in category or ()),
        levels=tuple(lv.value for lv in level or ()),
        search=q.strip() or None if q else None,
        include_debug=include_debug,
        since=aware(occurred_from),
        until=aware(occurred_to),
    )


def aware(when: datetime | None) -> datetime | None:
    """A time without a zone is read as UTC (the shop's times are stored with one)."""
    return when.replace(tzinfo=UTC) if when is not None and when.tzinfo is None else when


FilterDep = Annotated[FeedFilter, Depends(feed_filter)]


@router.get(
    "/feed",
    response_model=FeedPageOut,
    responses={400: {"description": "A cursor this service did not issue."}},
)
async def feed(
    request: Request,
    queries: QueriesDep,
    filters: FilterDep,
    after: Annotated[str | None, Query(description="Older than this cursor")] = None,
    before: Annotated[str | None, Query(description="Newer than this cursor")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> FeedPageOut:
    """The global feed, newest first, 50 per page by keyset cursor."""
    token = before or after
    try:
        cursor = Cursor.decode(token) if token else None
    except InvalidCursorError as exc:
        raise HTTPException(400, str(exc)) from None
    with timed(request, "feed"):
        page = await queries.feed(
            filters, cursor=cursor, direction="newer" if before else "older", limit=limit
        )
    return FeedPageOut(
        entries=[EntryOut.model_validate(e) for e in page.entries],
        older=page.older.encode() if page.older else None,
        newer=page.newer.encode() if page.newer else None,
        total=page.total,
        total_capped=page.total_capped,
        seq=page.seq,
    )


@router.get("/feed/changes", response_model=FeedChangesOut)
async def feed_changes(
    request: Request,
    queries: QueriesDep,
    filters: FilterDep,
    since: Annotated[
        int, Query(ge=0, le=BIGINT_MAX, description="The last change the reader has (`seq`).")
    ],
    limit: Annotated[int, Query(ge=1, le=500, description="At most this many entries.")] = 200,
) -> FeedChangesOut:
    """Everything that changed after change `since`, for a page that stays current.

    The feed page gives its `seq`; the live WebSocket says when there is more.
    Ask from the last `seq` until `complete`, and no entry is missed or repeated,
    however busy the shop or long the gap.
    """
    with timed(request, "feed_changes"):
        changes = await queries.changes(filters, since=since, limit=limit)
    return FeedChangesOut(
        seq=changes.seq,
        complete=changes.complete,
        reload=changes.reload,
        entries=[ChangedEntryOut.model_validate(e) for e in changes.entries],
    )


@router.get("/attention/count", response_model=CountOut)
async def attention_count(request: Request, queries: QueriesDep) -> CountOut:
    """How many warnings and errors still need attention (the badge)."""
    with timed(request, "attention_count"):
        return CountOut(count=await queries.attention_count())


@router.get("/entries/{entry_id}", response_model=EntryOut, responses=NO_ENTRY)
async def entry(entry_id: EntryId, queries: QueriesDep) -> EntryOut:
    found = await queries.entry(entry_id)
    if found is None:
        raise HTTPException(404, f"no entry {entry_id}")
    return EntryOut.model_validate(found)


async def _resolve(resolutions: Resolutions, entry_id: int, body: ResolveIn, kind: str) -> EntryOut:
    try:
        found = await resolutions.resolve_entry(
            entry_id,
            note=body.note,
            kind="dismissed" if kind == "dismissed" else "resolved",
        )
    except NotResolvableError as exc:
        raise HTTPException(409, str(exc)) from None
    if found is None:
        raise HTTPException(404, f"no entry {entry_id}")
    return EntryOut.model_validate(found)


@router.post("/entries/{entry_id}/resolve", response_model=EntryOut, responses=NOT_RESOLVABLE)
async def resolve(entry_id: EntryId, resolutions: ResolutionsDep, body: ResolveIn) -> EntryOut:
    """Resolve one warning or error (with an optional note). Resolving twice is fine."""
    return await _resolve(resolutions, entry_id, body, "resolved")


@router.post("/entries/{entry_id}/dismiss", response_model=EntryOut, responses=NOT_RESOLVABLE)
async def dismiss(entry_id: EntryId, resolutions: ResolutionsDep, body: ResolveIn) -> EntryOut:
    """Dismiss one warning or error: seen, nothing to do."""
    return await _resolve(resolutions, entry_id, body, "dismissed")


@router.post("/feed/resolve", response_model=ResolvedOut)
async def resolve_matching(
    resolutions: ResolutionsDep, filters: FilterDep, body: ResolveIn
) -> ResolvedOut:
    """Resolve every open warning and error matching the filter, without a cap."""
    ids = await resolutions.resolve_matching(filters, note=body.note)
    return ResolvedOut(resolved=len(ids), ids=ids)


@router.post("/orders/{order_id}/resolve", response_model=ResolvedOut)
async def resolve_order(
    order_id: OrderId, resolutions: ResolutionsDep, body: ResolveIn
) -> ResolvedOut:
    """Resolve every open warning and error of one order."""
    ids = await resolutions.resolve_matching(FeedFilter(order_id=order_id), note=body.note)
    return ResolvedOut(resolved=len(ids), ids=ids)


@router.get(
    "/orders/{order_id}",
    response_model=OrderOut,
    responses={404: {"description": "No such order."}},
)
async def order(order_id: OrderId, queries: QueriesDep) -> OrderOut:
    found = await queries.order(order_id)
    if found is None:
        raise HTTPException(404, f"no order {order_id}")
    return OrderOut.model_validate(found)


@router.get("/orders/{order_id}/timeline", response_model=list[EntryOut])
async def timeline(
    request: Request, order_id: OrderId, queries: QueriesDep, include_debug: bool = False
) -> list[EntryOut]:
    """One order's whole story, oldest first."""
    with timed(request, "timeline"):
        rows = await queries.timeline(order_id, include_debug=include_debug)
    return [EntryOut.model_validate(r) for r in rows]
