"""The grouped-failures API: list groups, one group with its entries and orders, resolve one.

Served behind the same service-token guard as the rest of the activity API.
The badge (`/api/attention/count`) counts open groups; `entries` beside it
there (see `attention_counts`) keeps the count of open entries available.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from pydantic import BaseModel

from shoptrail.activity.adapters.group_reads import GroupReads
from shoptrail.activity.adapters.queries import LogQueries
from shoptrail.activity.entrypoints.schemas import EntryOut, ResolvedOut, ResolveIn

router = APIRouter(prefix="/api", tags=["groups"])
Fingerprint = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$", description="A group's key.")]
NO_GROUP: dict[int | str, dict[str, Any]] = {404: {"description": "No such group."}}


class GroupOut(BaseModel):
    """One problem: occurrences of the same failure, folded."""

    fingerprint: str
    event_type: str
    category: str
    level: str
    title: str
    sample: str
    first_seen: datetime
    last_seen: datetime
    count: int
    open_count: int
    regressions: int
    open: bool
    resolved_at: datetime | None
    orders_affected: int
    order_ids: list[str]


class GroupOrderOut(BaseModel):
    order_id: str
    order_number: str | None


class GroupDetailOut(GroupOut):
    entries: list[EntryOut]
    orders: list[GroupOrderOut]


class AttentionCountsOut(BaseModel):
    groups: int
    entries: int


def _reads(request: Request) -> GroupReads:
    reads: GroupReads = request.app.state.groups
    return reads


ReadsDep = Annotated[GroupReads, Depends(_reads)]


@router.get("/groups", response_model=list[GroupOut])
async def groups(
    reads: ReadsDep,
    state: Literal["open", "resolved", "all"] = "all",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[GroupOut]:
    """Groups of failures, open ones first, then by the newest occurrence."""
    return [GroupOut.model_validate(g) for g in await reads.groups(state=state, limit=limit)]


@router.get("/groups/{fingerprint}", response_model=GroupDetailOut, responses=NO_GROUP)
async def group(fingerprint: Fingerprint, reads: ReadsDep) -> GroupDetailOut:
    """One group, its newest 100 entries and the orders it touched (with their numbers)."""
    found = await reads.group(fingerprint)
    if found is None:
        raise HTTPException(404, f"no group {fingerprint}")
    return GroupDetailOut.model_validate(found)


@router.post("/groups/{fingerprint}/resolve", response_model=ResolvedOut, responses=NO_GROUP)
async def resolve_group(fingerprint: Fingerprint, reads: ReadsDep, body: ResolveIn) -> ResolvedOut:
    """Resolve a group and every open entry in it. A new occurrence later reopens it."""
    ids = await reads.resolve(fingerprint, note=body.note)
    if ids is None:
        raise HTTPException(404, f"no group {fingerprint}")
    return ResolvedOut(resolved=len(ids), ids=ids)


@router.get("/attention/counts", response_model=AttentionCountsOut)
async def attention_counts(request: Request) -> AttentionCountsOut:
    """Open groups (what the badge shows) and open entries, one by one."""
    queries: LogQueries = request.app.state.queries
    return AttentionCountsOut(
        groups=await queries.attention_count(), entries=await queries.attention_entries()
    )
