"""Client input our stores cannot hold is refused at the door with a 4xx, never a 500.

PostgreSQL stores no U+0000 (in `text` or `jsonb`) and no integer beyond
`bigint`; UTF-8 encodes no lone surrogate (`"\\ud800"` is valid JSON all the
same); and a JSON body nested thousands deep exhausts a parser's stack. Each
reached a query as a 500 before. `StorableInput` is an ASGI middleware every
service's app wears; it looks at the path, the query string and JSON or form
bodies before any route does:

- `\\x00` in the path or a query value, or U+0000 or a lone surrogate in any
  string of a JSON body (keys too) or a form value: 400;
- a JSON body nested deeper than `max_depth` (counted on the raw text, before
  it is parsed): 400;
- a body larger than `max_body_bytes`: 413.

Integers are bounded where they are declared: `ROW_ID` for a path or query id
that names a `bigint` row.

Webhook bodies are not refused here: ingest cleans what providers send
(a customer's odd name must not cost an order), so it wears the middleware
with `check_bodies=False`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Iterator
from typing import Any
from urllib.parse import parse_qsl

from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shoptrail.events.hygiene import clean_text

Responder = Callable[[Scope, "RefusedInputError"], Awaitable[Response]]
"""Builds the answer to a refused request (default: `{"detail": …}` as JSON)."""

BIGINT_MAX = 2**63 - 1
"""The largest PostgreSQL `bigint` (and `bigserial` id)."""

MAX_DEPTH = 64
"""JSON nesting any of our APIs reads; the deepest body we accept is a few levels."""

MAX_BODY_BYTES = 1024 * 1024
"""Largest request body an API takes (ingest sets its own, larger, limit)."""

INPUT_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"description": "Input a store cannot hold: U+0000, a lone surrogate, deep nesting."},
    413: {"description": "Body larger than the service takes."},
}
"""What `StorableInput` may answer, for `FastAPI(responses=…)` so the OpenAPI says so."""

_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKETS = re.compile(rb"[\[\]{}]")


class RefusedInputError(ValueError):
    """Why a request is refused, and with which status."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


def storable(text: str) -> bool:
    """True when PostgreSQL and UTF-8 can hold `text`: the contract's cleaning would leave
    it as it is (no U+0000, no lone surrogate)."""
    return clean_text(text) == text


def json_depth(raw: bytes) -> int:
    """How deep `raw` JSON nests (strings skipped), counted without parsing it."""
    depth = deepest = 0
    for bracket in _BRACKETS.findall(_STRING.sub(b'""', raw)):
        if bracket in (b"[", b"{"):
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def check_json(raw: bytes, *, max_depth: int = MAX_DEPTH) -> None:
    """RefusedInputError for a body too deep or with unstorable text; malformed JSON passes
    (the route's own validation answers it)."""
    if json_depth(raw) > max_depth:
        raise RefusedInputError(400, f"JSON nested deeper than {max_depth} levels")
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError):
        return
    if not all(storable(text) for text in _strings(value)):
        raise RefusedInputError(400, "text with U+0000 or an unpaired surrogate is not accepted")


def check_query(query_string: bytes) -> None:
    for key, value in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True):
        if "\x00" in key or "\x00" in value:
            raise RefusedInputError(400, "U+0000 is not accepted in a query")


def check_form(raw: bytes) -> None:
    if b"\x00" in raw:
        raise RefusedInputError(400, "U+0000 is not accepted in a form")
    check_query(raw)


class StorableInput:
    """ASGI middleware: refuse what the stores behind this app cannot hold (see module)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        check_bodies: bool = True,
        max_body_bytes: int = MAX_BODY_BYTES,
        max_depth: int = MAX_DEPTH,
        respond: Responder | None = None,
    ) -> None:
        self.app = app
        self.check_bodies = check_bodies
        self.max_body_bytes = max_body_bytes
        self.max_depth = max_depth
        self.respond = respond or _json_refusal

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        try:
            if "\x00" in scope["path"]:
                raise RefusedInputError(400, "U+0000 is not accepted in a path")
            check_query(scope.get("query_string", b""))
            if scope["type"] == "http" and self.check_bodies:
                receive = await self._checked_body(scope, receive)
        except RefusedInputError as refused:
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1008, "reason": refused.detail})
            else:
                await (await self.respond(scope, refused))(scope, receive, send)
            return
        await self.app(scope, receive, send)

    async def _checked_body(self, scope: Scope, receive: Receive) -> Receive:
        """Read a JSON or form body whole, check it, and hand the app a replay of it."""
        kind = _content_type(scope)
        is_json = kind == "application/json" or kind.endswith("+json")
        is_form = kind == "application/x-www-form-urlencoded"
        if not (is_json or is_form):
            return receive
        declared = _content_length(scope)
        if declared is not None and declared > self.max_body_bytes:
            raise RefusedInputError(413, f"body larger than {self.max_body_bytes} bytes")
        chunks: list[bytes] = []
        size, more = 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return _replay([message])
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                raise RefusedInputError(413, f"body larger than {self.max_body_bytes} bytes")
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        if is_json:
            check_json(body, max_depth=self.max_depth)
        else:
            check_form(body)
        return _replay([{"type": "http.request", "body": body, "more_body": False}], receive)


def _replay(messages: list[Message], then: Receive | None = None) -> Receive:
    pending = list(messages)

    async def receive() -> Message:
        if pending:
            return pending.pop(0)
        if then is None:
            return {"type": "http.disconnect"}
        return await then()

    return receive


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return None


def _content_type(scope: Scope) -> str:
    return (_header(scope, b"content-type") or "").split(";")[0].strip().lower()


def _content_length(scope: Scope) -> int | None:
    value = _header(scope, b"content-length")
    return int(value) if value and value.isdigit() else None


async def _json_refusal(scope: Scope, refused: RefusedInputError) -> Response:
    return JSONResponse({"detail": refused.detail}, status_code=refused.status)
