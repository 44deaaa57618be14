"""Grouped failures: the needs-attention groups, one group's page, resolving a group.

A provider outage is one row ("Submission failed — seen 12 times, last 2 min ago
· 5 orders") instead of one per order per attempt. Resolving the group resolves
every open entry in it; the activity service reopens it if it happens again.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from shoptrail.admin_ui.adapters.groups import GroupsClient
from shoptrail.admin_ui.auth.sessions import UserDep
from shoptrail.admin_ui.domain.feed_query import FeedQuery
from shoptrail.admin_ui.domain.groups import Group
from shoptrail.admin_ui.entrypoints.web import back_to, flash, render_page

router = APIRouter(prefix="/admin/activity/groups", tags=["groups"])
Fingerprint = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$")]
NoteField = Annotated[str, Form(max_length=2000)]
NextField = Annotated[str, Form(max_length=2000)]


def groups_client(request: Request) -> GroupsClient:
    client: GroupsClient = request.app.state.groups
    return client


async def open_groups(request: Request, query: FeedQuery) -> list[Group]:
    """The open groups the needs-attention tab leads with (its first, unfiltered page)."""
    if query.tab != "attention" or not query.is_first_page or query.categories or query.q:
        return []
    return await groups_client(request).groups(state="open")


@router.get("", response_class=HTMLResponse)
async def groups(request: Request, _: UserDep) -> HTMLResponse:
    """Every group: open ones first, then resolved, newest occurrence first."""
    found = await groups_client(request).groups(state="all", limit=200)
    return await render_page(request, "groups.html", groups=found)


@router.get("/{fingerprint}", response_class=HTMLResponse)
async def group(request: Request, _: UserDep, fingerprint: Fingerprint) -> HTMLResponse:
    """One group: what it is, the orders it touched, its newest entries."""
    found = await groups_client(request).group(fingerprint)
    return await render_page(request, "group.html", group=found)


@router.post("/{fingerprint}/resolve")
async def resolve(
    request: Request,
    _: UserDep,
    fingerprint: Fingerprint,
    note: NoteField = "",
    next: NextField = "",
) -> RedirectResponse:
    """Resolve the group and all its open entries, then back where the owner was."""
    n = await groups_client(request).resolve(fingerprint, note=note.strip() or None)
    flash(request, f"Resolved the group ({n:,} {'entry' if n == 1 else 'entries'})")
    return back_to(next or "/admin/activity?tab=attention")
