"""The note form on an order's page: the note goes to activity, signed by who is logged in."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from shoptrail.admin_ui.auth.sessions import UserDep
from shoptrail.admin_ui.entrypoints.web import ServicesDep, flash, render_page
from shoptrail.admin_ui.service_layer.ports import RefusedError, UpstreamError
from shoptrail.events.ids import uuid7
from shoptrail.events.notes import MAX_NOTE

router = APIRouter(prefix="/admin/orders", tags=["notes"])
UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"


def new_note_id() -> str:
    """The form's note id, made when the form is shown: submitting it twice makes one note."""
    return str(uuid7())


@router.post("/{order_id}/notes")
async def add_note(
    request: Request,
    order_id: str,
    services: ServicesDep,
    user: UserDep,
    text: Annotated[str, Form(max_length=MAX_NOTE + 200)] = "",
    note_id: Annotated[str, Form(pattern=UUID_PATTERN)] = "",
) -> Response:
    """Add the note (the author is the session's admin, never a form field)."""
    note_id = note_id or new_note_id()
    try:
        await services.activity.add_note(order_id, author=user, text=text, note_id=note_id)
    except (RefusedError, UpstreamError) as exc:
        refused = isinstance(exc, RefusedError)
        reason = (
            "Not a note: write something (at most 2,000 characters)."
            if refused
            else ("The note could not be saved just now. Nothing was lost: send it again.")
        )
        return await _again(
            request, services, order_id, text, note_id, reason, 422 if refused else 503
        )
    flash(request, "Note added.")
    return RedirectResponse(request.url_for("order", order_id=order_id).path, status_code=303)


async def _again(
    request: Request,
    services: ServicesDep,
    order_id: str,
    text: str,
    note_id: str,
    error: str,
    status_code: int,
) -> HTMLResponse:
    """The order page again with the note as typed and the same id (a resend stays one note)."""
    found, timeline = await asyncio.gather(
        services.activity.order(order_id), services.activity.timeline(order_id)
    )
    return await render_page(
        request,
        "order.html",
        status_code=status_code,
        headers={"Retry-After": "5"} if status_code == 503 else None,
        live="order",
        order=found,
        timeline=timeline,
        note_text=text,
        note_id=note_id,
        note_error=error,
    )
