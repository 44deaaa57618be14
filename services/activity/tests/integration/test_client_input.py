"""Whatever a client puts in a path, a query or a body, the API answers 4xx, never 500.

Each of these reached PostgreSQL and came back as a 500 ("invalid byte
sequence … 0x00", "bigint out of range"); now the door refuses them, and the
pool is never left holding a failed transaction.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Awaitable, Callable

import httpx
import pytest

from shoptrail.events import new_event
from shoptrail.events.ingest import OrderCreated

pytestmark = pytest.mark.postgres

Log = Callable[..., Awaitable[list[int]]]
TOO_BIG = 2**63


def cursor(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/api/feed?q=%00", None),
        ("GET", "/api/orders?q=%00", None),
        ("GET", "/api/feed?category=%00", None),
        ("GET", "/api/orders/ord%00x", None),
        ("GET", "/api/orders/ord%00x/timeline", None),
        ("POST", "/api/orders/ord%00x/resolve", {}),
        ("GET", f"/api/feed?after={cursor(f'2026-01-01T00:00:00+00:00|{TOO_BIG}')}", None),
        ("GET", f"/api/feed?before={cursor(f'2026-01-01T00:00:00+00:00|{TOO_BIG}')}", None),
        ("GET", f"/api/feed?after={cursor('2026-01-01T00:00:00+00:00|-1')}", None),
        ("GET", "/api/feed?after=!!!", None),
        ("GET", f"/api/entries/{TOO_BIG}", None),
        ("POST", f"/api/entries/{TOO_BIG}/resolve", {}),
        ("POST", f"/api/entries/{TOO_BIG}/dismiss", {}),
        ("GET", "/api/entries/0", None),
        ("POST", "/api/feed/resolve", {"note": "a\x00b"}),
        ("POST", "/api/feed/resolve", {"note": "\ud800"}),
        ("POST", "/api/ws-tokens", {"subject": "a\x00b"}),
        ("GET", f"/api/orders/{'o' * 300}", None),
    ],
)
async def test_client_input_the_store_cannot_take_is_a_4xx(
    quiet_api: httpx.AsyncClient, log: Log, method: str, path: str, body: object
) -> None:
    [entry_id] = await log(new_event(OrderCreated.example(), source="/tests"))
    if body is None:
        response = await quiet_api.request(method, path)
    else:
        # Sent as the JSON text a client could send, lone surrogates included.
        raw = _json(body)
        response = await quiet_api.request(
            method, path, content=raw, headers={"content-type": "application/json"}
        )
    assert 400 <= response.status_code < 500, (response.status_code, response.text)
    assert response.json()["detail"]
    # The pool is healthy afterwards: the next request reads the log.
    after = await quiet_api.get(f"/api/entries/{entry_id}")
    assert after.status_code == 200


def _json(value: object) -> bytes:
    return json.dumps(value).encode()  # ensure_ascii: "\ud800" stays an escape
