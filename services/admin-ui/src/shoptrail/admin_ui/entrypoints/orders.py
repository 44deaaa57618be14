"""The orders list and one order's page: summary, line items, and its Activity timeline."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from shoptrail.admin_ui.auth.sessions import UserDep
from shoptrail.admin_ui.domain.orders_query import OrdersQuery
from shoptrail.admin_ui.entrypoints.web import (
    ServicesDep,
    flash,
    render_fragment,
    render_page,
)

router = APIRouter(prefix="/admin/orders", tags=["orders"])
PAGE_SIZE = 50


@router.get("", response_class=HTMLResponse)
async def orders(
    request: Request,
    services: ServicesDep,
    _: UserDep,
) -> HTMLResponse:
    """Newest placed first, a page at a time; search, status and days in the URL."""
    query = OrdersQuery.parse(request.query_params, zone=request.app.state.settings.zone)
    page = await services.activity.orders(query, limit=PAGE_SIZE)
    return await render_page(request, "orders.html", query=query, page=page, orders=page.orders)


@router.get("/{order_id}", response_class=HTMLResponse)
async def order(request: Request, order_id: str, services: ServicesDep, _: UserDep) -> HTMLResponse:
    found, timeline = await asyncio.gather(
        services.activity.order(order_id), services.activity.timeline(order_id)
    )
    return await render_page(request, "order.html", live="order", order=found, timeline=timeline)


@router.get("/{order_id}/live", response_class=HTMLResponse)
async def order_live(
    request: Request, order_id: str, services: ServicesDep, _: UserDep
) -> HTMLResponse:
    """The parts of the order page that change (status, timeline): for Refresh and live updates."""
    found, timeline = await asyncio.gather(
        services.activity.order(order_id), services.activity.timeline(order_id)
    )
    html = render_fragment(request, "_order_live.html", order=found, timeline=timeline)
    return HTMLResponse(html)


@router.post("/{order_id}/resolve")
async def resolve_order(
    request: Request,
    order_id: str,
    services: ServicesDep,
    _: UserDep,
    note: Annotated[str, Form(max_length=2000)] = "",
) -> RedirectResponse:
    """Resolve every open warning and error of this order."""
    count = await services.activity.resolve_order(order_id, note=note.strip() or None)
    flash(request, f"Resolved {count} {'entry' if count == 1 else 'entries'}.")
    return RedirectResponse(request.url_for("order", order_id=order_id).path, status_code=303)
