"""The orders list over HTTP: keyset pages, status and date filters, counts per status."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel, Field

from shoptrail.activity.adapters.order_list import OrderList
from shoptrail.activity.adapters.queries import LogQueries
from shoptrail.activity.domain.order_list import (
    InvalidOrderCursorError,
    OrderCursor,
    OrderFilter,
)
from shoptrail.activity.entrypoints.api import aware
from shoptrail.activity.entrypoints.schemas import OrderOut

router = APIRouter(prefix="/api", tags=["orders"])


class OrdersPageOut(BaseModel):
    """A page of orders, newest placed first."""

    orders: list[OrderOut]
    next: str | None = Field(description="Cursor for the next (older) page: `?after=`.")
    prev: str | None = Field(description="Cursor for the previous (newer) page: `?before=`.")
    total: int = Field(description="Orders matching every filter.")
    counts: dict[str, int] = Field(
        description="Orders per status matching the other filters (search, dates): what "
        "choosing each status would show."
    )


@router.get(
    "/orders",
    response_model=OrdersPageOut,
    responses={400: {"description": "A cursor this service did not issue."}},
)
async def list_orders(
    request: Request,
    q: Annotated[
        str | None, Query(max_length=200, description="Start of an order number or email.")
    ] = None,
    status: Annotated[list[str] | None, Query(max_length=40)] = None,
    since: Annotated[datetime | None, Query(description="Placed at or after this time.")] = None,
    until: Annotated[datetime | None, Query(description="Placed before this time.")] = None,
    after: Annotated[str | None, Query(description="Older than this cursor.")] = None,
    before: Annotated[str | None, Query(description="Newer than this cursor.")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> OrdersPageOut:
    """Newest placed orders first, a page at a time by opaque keyset cursor."""
    token = before or after
    try:
        cursor = OrderCursor.decode(token) if token else None
    except InvalidOrderCursorError as exc:
        raise HTTPException(400, str(exc)) from None
    queries: LogQueries = request.app.state.queries
    f = OrderFilter(
        statuses=tuple(s for s in status or () if s),
        since=aware(since),
        until=aware(until),
        search=q.strip() or None if q else None,
    )
    page = await OrderList(queries.engine).page(
        f, cursor=cursor, direction="newer" if before else "older", limit=limit
    )
    return OrdersPageOut(
        orders=[OrderOut.model_validate(r) for r in page.orders],
        next=page.older.encode() if page.older else None,
        prev=page.newer.encode() if page.newer else None,
        total=page.total,
        counts=page.counts,
    )
