"""What no store can hold is refused at the door: 400/413, and the route never runs."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Form, Path
from pydantic import BaseModel

from shoptrail.kit.inputs import (
    BIGINT_MAX,
    INPUT_RESPONSES,
    MAX_DEPTH,
    StorableInput,
    json_depth,
    storable,
)


class Note(BaseModel):
    note: str


def app(**options: Any) -> tuple[FastAPI, list[object]]:
    reached: list[object] = []
    made = FastAPI(responses=INPUT_RESPONSES)
    made.add_middleware(StorableInput, **options)

    @made.get("/things/{name}")
    async def thing(name: str, q: str = "") -> dict[str, str]:
        reached.append((name, q))
        return {"name": name, "q": q}

    @made.get("/rows/{row_id}")
    async def row(row_id: int = Path(ge=1, le=BIGINT_MAX)) -> dict[str, int]:
        reached.append(row_id)
        return {"id": row_id}

    @made.post("/notes")
    async def note(body: Note) -> dict[str, str]:
        reached.append(body.note)
        return {"note": body.note}

    @made.post("/form")
    async def form(text: str = Form()) -> dict[str, str]:
        reached.append(text)
        return {"text": text}

    return made, reached


async def call(made: FastAPI, method: str, url: str, **kwargs: Any) -> httpx.Response:
    transport = httpx.ASGITransport(app=made)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return await client.request(method, url, **kwargs)


@pytest.mark.parametrize(
    ("method", "url", "kwargs"),
    [
        ("GET", "/things/a%00b", {}),
        ("GET", "/things/a?q=x%00", {}),
        ("GET", "/things/a?q%00=x", {}),
        ("POST", "/notes", {"content": b'{"note": "a\\u0000b"}'}),
        ("POST", "/notes", {"content": b'{"note": "half \\ud800 a pair"}'}),
        ("POST", "/notes", {"content": b'{"no\\u0000te": "key"}'}),
        ("POST", "/notes", {"content": b"[" * 5000 + b"]" * 5000}),
        ("POST", "/form", {"content": b"text=a%00b"}),
    ],
)
async def test_unstorable_input_is_a_400_and_the_route_never_runs(
    method: str, url: str, kwargs: dict[str, Any]
) -> None:
    made, reached = app()
    headers = {
        "content-type": "application/x-www-form-urlencoded"
        if url == "/form"
        else "application/json"
    }
    response = await call(made, method, url, headers=headers, **kwargs)
    assert response.status_code == 400, response.text
    assert response.json()["detail"]
    assert reached == []


async def test_a_body_over_the_limit_is_a_413() -> None:
    made, reached = app(max_body_bytes=1000)
    body = json.dumps({"note": "x" * 2000}).encode()
    response = await call(
        made, "POST", "/notes", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert reached == []


async def test_ids_beyond_bigint_are_a_422_not_a_500() -> None:
    made, _ = app()
    assert (await call(made, "GET", f"/rows/{BIGINT_MAX + 1}")).status_code == 422
    assert (await call(made, "GET", f"/rows/{BIGINT_MAX}")).status_code == 200


async def test_clean_input_passes_untouched_and_bodies_are_replayed_whole() -> None:
    made, reached = app()
    emoji = "Crème brûlée \U0001f600 \t\n"
    response = await call(made, "POST", "/notes", json={"note": emoji})
    assert response.status_code == 200
    assert response.json() == {"note": emoji}
    response = await call(made, "GET", "/things/caf%C3%A9?q=%E2%82%AC")
    assert response.json() == {"name": "café", "q": "€"}
    assert reached == [emoji, ("café", "€")]


async def test_bodies_can_be_left_to_the_route() -> None:
    made, reached = app(check_bodies=False)
    response = await call(
        made,
        "POST",
        "/notes",
        content=b'{"note": "a\\u0000b"}',
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 200
    assert reached == ["a\x00b"]


def test_depth_is_counted_without_parsing_and_strings_do_not_count() -> None:
    assert json_depth(b'{"a": [1, {"b": "[[[[{{{{"}]}') == 3
    assert json_depth(b'"\\"[[[["') == 0
    assert json_depth(b"[" * (MAX_DEPTH + 1)) == MAX_DEPTH + 1


def test_storable_text() -> None:
    assert storable("plain, é, \U0001f600")
    assert not storable("a\x00b")
    assert not storable("\ud800")


def test_the_refusals_are_documented() -> None:
    made, _ = app()
    responses = made.openapi()["paths"]["/notes"]["post"]["responses"]
    assert {"400", "413"} <= set(responses)
