"""One entry's details page: what it was made from, where it was read, where the order lives."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse

from shoptrail.admin_ui.auth.sessions import UserDep
from shoptrail.admin_ui.config import Settings
from shoptrail.admin_ui.domain.dashboards import dashboard_links
from shoptrail.admin_ui.entrypoints.web import ServicesDep, render_page
from shoptrail.kit.inputs import BIGINT_MAX

router = APIRouter(prefix="/admin/entries", tags=["entries"])
EntryId = Annotated[int, Path(ge=1, le=BIGINT_MAX)]


@router.get("/{entry_id}", response_class=HTMLResponse)
async def entry_details(
    request: Request, entry_id: EntryId, services: ServicesDep, _: UserDep
) -> HTMLResponse:
    """The rendered message, source, occurred vs received, Kafka coordinates, payload, links."""
    entry = await services.activity.entry_detail(entry_id)
    settings: Settings = request.app.state.settings
    # Indented JSON, shown as text: the template escapes it like every other value.
    payload = json.dumps(entry.payload, indent=2, ensure_ascii=False, sort_keys=True)
    links = dashboard_links(entry.references, printify_shop_id=settings.printify_shop_id)
    lag = after(int((entry.received_at - entry.occurred_at).total_seconds()))
    return await render_page(
        request, "entry.html", entry=entry, payload_json=payload, links=links, lag=lag
    )


def after(seconds: int) -> str:
    """How long the log took to hear of it, when that is worth saying ("2 h 5 min after")."""
    if seconds < 1:
        return ""
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min after it occurred"
    return f"{minutes} min {secs} s after it occurred" if minutes else f"{secs} s after it occurred"
