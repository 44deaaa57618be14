"""`/api/feed/changes`: how an open page stays current, with nothing missed or repeated."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from shoptrail.activity.adapters.store import record_change
from shoptrail.events import Event, EventData, new_event
from shoptrail.events.fulfilment import OrderSubmissionFailed, SyncCompleted
from shoptrail.events.ingest import CheckoutExpired, EmailBounced

pytestmark = pytest.mark.postgres

Log = Callable[..., Awaitable[list[int]]]


def failed(order: str) -> Event[EventData]:
    return new_event(
        OrderSubmissionFailed(
            order_id=order, provider="Printify", reason="out of stock", attempt=1, max_attempts=3
        ),
        source="/tests",
    )


def synced(n: int) -> Event[EventData]:
    data = SyncCompleted(sync_id=f"sync_{uuid.uuid4().hex[:8]}", provider="Printify", total=n)
    return new_event(data, source="/tests")


async def changes(api: httpx.AsyncClient, since: int, **params: Any) -> Any:
    response = await api.get("/api/feed/changes", params={"since": since, **params})
    assert response.status_code == 200, response.text
    return response.json()


async def page_seq(api: httpx.AsyncClient, **params: Any) -> int:
    response = await api.get("/api/feed", params=params)
    assert response.status_code == 200, response.text
    seq: int = response.json()["seq"]
    return seq


async def test_new_entries_then_their_resolution_each_once(
    quiet_api: httpx.AsyncClient, log: Log
) -> None:
    seq = await page_seq(quiet_api)
    error, bounce, sync = await log(
        failed("ord_1"), new_event(EmailBounced.example(), source="/t"), synced(3)
    )
    await log(new_event(CheckoutExpired.example(), source="/t"))  # debug only: filtered out
    answer = await changes(quiet_api, seq)
    assert answer["complete"] is True and answer["reload"] is False
    by_id = {e["id"]: e for e in answer["entries"]}
    assert set(by_id) >= {error, bounce, sync}
    assert all(e["inserted"] for e in answer["entries"])
    assert by_id[error]["matches"] and by_id[bounce]["matches"] and by_id[sync]["matches"]
    assert answer["entries"][0]["cursor"]  # each entry says where "older than it" starts
    assert not [e for e in answer["entries"] if e["level"] == "debug" and e["matches"]]

    # Nothing more since: the same answer never comes twice.
    again = await changes(quiet_api, answer["seq"])
    assert again == {"seq": answer["seq"], "complete": True, "reload": False, "entries": []}

    attention = await changes(quiet_api, seq, tab="attention")
    assert {e["id"] for e in attention["entries"] if e["matches"]} == {error, bounce}

    resolved = await quiet_api.post(f"/api/entries/{error}/resolve", json={"note": "ok"})
    assert resolved.status_code == 200
    after = await changes(quiet_api, answer["seq"], tab="attention")
    (entry,) = after["entries"]
    assert entry["id"] == error and entry["resolution"] == "resolved"
    assert entry["inserted"] is False  # only updated: a page showing it updates its row
    assert entry["matches"] is False  # and it has left the Needs attention tab


async def test_a_large_gap_comes_in_whole_changes_until_complete(
    quiet_api: httpx.AsyncClient, log: Log
) -> None:
    seq = await page_seq(quiet_api)
    written = [await log(*(synced(10 * c + i) for i in range(3))) for c in range(5)]
    seen: list[int] = []
    answers = 0
    while True:
        answer = await changes(quiet_api, seq, limit=7)
        answers += 1
        assert len(answer["entries"]) <= 7
        seen += [e["id"] for e in answer["entries"]]
        seq = answer["seq"]
        if answer["complete"]:
            break
    assert answers == 3  # two changes of three entries fit in seven
    assert sorted(seen) == sorted(i for ids in written for i in ids)


@pytest.mark.parametrize("why", ["one change too large", "pruned", "rebuilt", "from the future"])
async def test_what_cannot_be_given_one_by_one_says_reload(
    quiet_api: httpx.AsyncClient, log: Log, engine: AsyncEngine, why: str
) -> None:
    seq = await page_seq(quiet_api)
    await log(*(synced(i) for i in range(5)))
    since, limit = seq, 200
    if why == "one change too large":
        limit = 4
    elif why == "pruned":
        await log(synced(99))
        async with engine.begin() as conn:
            # Pruning removes numbered changes only: have the sequencer number them.
            await conn.execute(text("SELECT activity_number_changes()"))
            await conn.execute(
                text(
                    "DELETE FROM activity_changes "
                    "WHERE seq < (SELECT max(seq) FROM activity_changes)"
                )
            )
    elif why == "rebuilt":
        async with engine.begin() as conn:
            await record_change(conn, [], kind="reload")
    else:
        since = seq + 1_000
    answer = await changes(quiet_api, since, limit=limit)
    assert answer["reload"] is True and answer["entries"] == []
    assert answer["seq"] == await page_seq(quiet_api)  # where a fresh first page starts


async def test_readers_polling_while_writers_commit_see_every_entry_once(
    quiet_api: httpx.AsyncClient, log: Log
) -> None:
    """Writers commit concurrently (ids are taken out of commit order); a reader asking from
    its last `seq` sees each new entry inserted exactly once."""
    seq = await page_seq(quiet_api)
    written: list[int] = []
    seen: list[int] = []
    done = asyncio.Event()

    async def writer(w: int) -> None:
        for i in range(25):
            written.extend(await log(*(synced(1000 * w + 10 * i + k) for k in range(2))))

    async def reader() -> None:
        nonlocal seq
        while True:
            finished = done.is_set()
            answer = await changes(quiet_api, seq, limit=20)
            seen.extend(e["id"] for e in answer["entries"] if e["inserted"])
            seq = answer["seq"]
            if finished and answer["complete"]:
                return

    reading = asyncio.create_task(reader())
    await asyncio.gather(*(writer(w) for w in range(4)))
    done.set()
    await reading
    assert len(written) == 200
    assert sorted(seen) == sorted(written)  # every one, none twice
