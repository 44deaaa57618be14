"""The feed's CSV download: what the page's filters select, streamed through from activity.

The admin passes the activity service's chunks on as they come, never holding
the file: an export of millions of entries costs the admin one chunk of memory.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from shoptrail.admin_ui.auth.sessions import UserDep
from shoptrail.admin_ui.entrypoints.feed import feed_query
from shoptrail.admin_ui.entrypoints.web import ServicesDep

router = APIRouter(tags=["activity"])


@router.get("/admin/activity/export.csv", response_class=StreamingResponse)
async def export_csv(request: Request, services: ServicesDep, _: UserDep) -> StreamingResponse:
    query = feed_query(request).first_page
    chunks = services.activity.feed_csv(query)
    # Wait for the first chunk here: a service that refuses is an error page, not a
    # download that breaks off.
    first = await anext(chunks, b"")

    async def body() -> AsyncIterator[bytes]:
        yield first
        async for chunk in chunks:
            yield chunk

    return StreamingResponse(
        body(),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": 'attachment; filename="activity.csv"',
            "Cache-Control": "no-store",
        },
    )
