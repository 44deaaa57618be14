"""The feed as CSV: what the feed's filters select, streamed, however many entries.

Spreadsheets run a cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage
return as a formula (CSV injection: a customer's name or a provider's error
message is text we do not control), so such a cell gets a leading `'`, as
OWASP recommends: the spreadsheet then shows it as text.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Iterable
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from shoptrail.activity.adapters.export import FeedExport
from shoptrail.activity.adapters.queries import LogQueries
from shoptrail.activity.domain.feed import FeedFilter
from shoptrail.activity.entrypoints.api import FilterDep

router = APIRouter(prefix="/api", tags=["activity"])

HEADER = ("time", "level", "type", "order_number", "message", "resolved", "entry_id")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def guarded(value: str) -> str:
    """A cell a spreadsheet shows as text, never runs (see the module's docstring)."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def _time(value: datetime | None) -> str:
    return value.isoformat() if value is not None else ""


def csv_row(entry: dict[str, Any]) -> tuple[str, ...]:
    """One entry's cells: the shop's order number (its id until the number is known)."""
    resolved = entry.get("resolution") or ("yes" if entry.get("resolved_at") else "")
    cells = (
        _time(entry["occurred_at"]),
        entry["level"],
        entry["event_type"],
        entry.get("order_number") or entry.get("order_id") or "",
        entry["message"],
        resolved,
        str(entry["id"]),
    )
    return tuple(guarded(c) for c in cells)


def csv_text(rows: Iterable[tuple[str, ...]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue()


async def csv_chunks(export: FeedExport, f: FeedFilter) -> AsyncIterator[bytes]:
    """The header, then one chunk per batch: memory stays one batch at any size."""
    yield ("\ufeff" + csv_text([HEADER])).encode()  # the BOM tells Excel it is UTF-8
    async for batch in export.batches(f):
        yield csv_text(csv_row(e) for e in batch).encode()


@router.get(
    "/feed.csv",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}, "description": "The entries, newest first."}},
)
async def feed_csv(request: Request, filters: FilterDep) -> StreamingResponse:
    """Every entry the feed's filters select (same parameters as `/api/feed`), as CSV."""
    queries: LogQueries = request.app.state.queries
    return StreamingResponse(
        csv_chunks(FeedExport(queries.engine), filters),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="activity.csv"'},
    )
