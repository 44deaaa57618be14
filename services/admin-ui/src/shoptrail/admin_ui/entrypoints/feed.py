"""The activity feed: tabs, filters, search, pages, and the row actions."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, Response

from shoptrail.admin_ui.auth.sessions import UserDep
from shoptrail.admin_ui.domain.feed_query import FeedQuery
from shoptrail.admin_ui.entrypoints.groups_page import open_groups
from shoptrail.admin_ui.entrypoints.web import (
    ServicesDep,
    back_to,
    flash,
    render_fragment,
    render_page,
    wants_fragment,
)
from shoptrail.admin_ui.service_layer import actions
from shoptrail.admin_ui.service_layer.ports import ActionOutcome, RefusedError
from shoptrail.kit.inputs import BIGINT_MAX

router = APIRouter(prefix="/admin/activity", tags=["activity"])
PAGE_SIZE = 50
NoteField = Annotated[str, Form(max_length=2000)]
NextField = Annotated[str, Form(max_length=2000)]
EntryId = Annotated[int, Path(ge=1, le=BIGINT_MAX)]


def feed_query(request: Request) -> FeedQuery:
    params = request.query_params
    zone = request.app.state.settings.zone
    return FeedQuery.parse(params, params.getlist("category"), params.getlist("level"), zone=zone)


@router.get("", response_class=HTMLResponse)
async def feed(request: Request, services: ServicesDep, _: UserDep) -> HTMLResponse:
    query = feed_query(request)
    page = await services.activity.feed(query, limit=PAGE_SIZE)
    return await render_page(
        request,
        "feed.html",
        live="feed",
        query=query,
        page=page,
        entries=page.entries,
        back=query.url(),
        groups=await open_groups(request, query),
    )


@router.get("/rows", response_class=HTMLResponse)
async def rows(
    request: Request,
    services: ServicesDep,
    _: UserDep,
    since: Annotated[int, Query(ge=0, le=BIGINT_MAX)],
) -> HTMLResponse:
    """For the page's script: the rows changed after change `since`, for the page's filters.

    The headers say where that leaves the page: `X-Feed-Seq` (ask from there
    next time), `X-Feed-Complete` (0: more changes wait, ask again at once) and
    `X-Feed-Reload` (1: the changes could not be given one by one; the rows are
    a fresh first page that replaces the list, `X-Feed-Older` its next cursor).
    Rows marked `data-arrives` are new on the page; the others update a row it shows.
    """
    query = feed_query(request).first_page
    changes = await services.activity.feed_changes(query, since=since)
    headers = {"X-Feed-Reload": "0", "X-Feed-Complete": "1" if changes.complete else "0"}
    if changes.reload:
        page = await services.activity.feed(query, limit=PAGE_SIZE)
        entries, seq = page.entries, page.seq
        headers |= {"X-Feed-Reload": "1", "X-Feed-Older": page.older or ""}
    else:
        # Rows to add, and rows that changed (resolutions) which the page may be showing.
        entries = [e for e in changes.entries if e.arrives or not e.inserted]
        seq = changes.seq
    # Rows fetched by the script are only ever acted on by the script: no return path needed.
    html = render_fragment(request, "_entry_rows.html", entries=entries, back="/admin/activity")
    return HTMLResponse(html, headers=headers | {"X-Feed-Seq": str(seq)})


async def _row_response(
    request: Request, services: ServicesDep, entry_id: int, next: str, notice: str
) -> Response:
    """The re-rendered row for the page's script, else back to the feed with a notice."""
    if wants_fragment(request):
        entry, count = await asyncio.gather(
            services.activity.entry(entry_id), services.activity.attention_count()
        )
        html = render_fragment(
            request, "_entry_rows.html", entries=[entry], notices={entry.id: notice}, back=next
        )
        # The badge follows at once, even before (or without) the live socket's word.
        return HTMLResponse(html, headers={"X-Attention-Count": str(count)})
    flash(request, notice)
    return back_to(next)


@router.post("/entries/{entry_id}/resolve")
async def resolve(
    request: Request,
    entry_id: EntryId,
    services: ServicesDep,
    _: UserDep,
    note: NoteField = "",
    next: NextField = "",
) -> Response:
    return await _resolve(request, services, entry_id, note, next, dismiss=False)


@router.post("/entries/{entry_id}/dismiss")
async def dismiss(
    request: Request,
    entry_id: EntryId,
    services: ServicesDep,
    _: UserDep,
    note: NoteField = "",
    next: NextField = "",
) -> Response:
    return await _resolve(request, services, entry_id, note, next, dismiss=True)


async def _resolve(
    request: Request, services: ServicesDep, entry_id: int, note: str, next: str, *, dismiss: bool
) -> Response:
    try:
        await services.activity.resolve(entry_id, note=note.strip() or None, dismiss=dismiss)
        notice = "Dismissed" if dismiss else "Resolved"
    except RefusedError as exc:
        notice = f"Not resolved: {exc.reason}"
    return await _row_response(request, services, entry_id, next, notice)


@router.post("/entries/{entry_id}/retry-submission")
async def retry_submission(
    request: Request, entry_id: EntryId, services: ServicesDep, _: UserDep, next: NextField = ""
) -> Response:
    outcome: ActionOutcome = await actions.retry_submission(
        entry_id, activity=services.activity, fulfilment=services.fulfilment
    )
    return await _row_response(request, services, entry_id, next, outcome.message)


@router.post("/entries/{entry_id}/retry-sync")
async def retry_sync(
    request: Request, entry_id: EntryId, services: ServicesDep, _: UserDep, next: NextField = ""
) -> Response:
    outcome = await actions.retry_sync(
        entry_id, activity=services.activity, fulfilment=services.fulfilment
    )
    return await _row_response(request, services, entry_id, next, outcome.message)


@router.post("/resolve-matching")
async def resolve_matching(
    request: Request,
    services: ServicesDep,
    _: UserDep,
    tab: Annotated[str, Form()] = "all",
    category: Annotated[list[str] | None, Form()] = None,
    level: Annotated[list[str] | None, Form()] = None,
    q: Annotated[str, Form(max_length=200)] = "",
    first_day: Annotated[str, Form(alias="from", max_length=10)] = "",
    last_day: Annotated[str, Form(alias="to", max_length=10)] = "",
    note: NoteField = "",
) -> Response:
    """Resolve every open warning and error the current filters match (not just this page)."""
    query = FeedQuery.parse(
        {"tab": tab, "q": q, "from": first_day, "to": last_day},
        category or [],
        level or [],
        zone=request.app.state.settings.zone,
    )
    count = await services.activity.resolve_matching(query, note=note.strip() or None)
    flash(request, f"Resolved {count} {'entry' if count == 1 else 'entries'}.")
    return back_to(query.url())
