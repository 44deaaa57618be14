"""The bus's AsyncAPI document, served by every service beside its OpenAPI.

A service's OpenAPI says what it answers over HTTP; what it publishes and
reads on Kafka is in the one AsyncAPI document of the whole bus
(shoptrail.events.asyncapi), generated from the contract's code. Every service
serves that same document, so whichever one a third party can reach tells
them the whole contract, and no copy can drift.

FastStream can generate an AsyncAPI document from a broker's subscribers, but
ours know only raw records (payload `EmptyPayload`, no groups, keys, producers
or dead-letter topics), so the contract's own document is served, rendered
with FastStream's AsyncAPI page. Both routes are operations paths
(kit.auth.OPERATIONS_PATHS): open in dev, behind the service token in prod,
like `/docs` and `/openapi.json`.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from fastapi import FastAPI
from fastapi.responses import HTMLResponse, Response
from faststream.specification.asyncapi.site import get_asyncapi_html

from shoptrail.events.asyncapi import asyncapi

JSON_PATH = "/asyncapi.json"
HTML_PATH = "/asyncapi"


class BusDocument:
    """The contract's document in the shape FastStream's renderer reads (its `Specification`)."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document

    @property
    def title(self) -> str:
        return str(self.document["info"]["title"])

    def to_jsonable(self) -> Any:
        return self.document

    def to_json(self) -> str:
        return json.dumps(self.document, ensure_ascii=False)

    def to_yaml(self) -> str:
        return self.to_json()  # JSON is YAML; nothing here asks for block style


@cache
def _rendered() -> tuple[bytes, str]:
    """The JSON and the HTML page, built once per process (the document never changes)."""
    document = BusDocument(asyncapi())
    return document.to_json().encode(), get_asyncapi_html(document, try_it_out_path=None)


def serve_asyncapi(app: FastAPI) -> None:
    """Add `GET /asyncapi.json` (the document) and `GET /asyncapi` (its page) to `app`."""

    @app.get(JSON_PATH, include_in_schema=False)
    async def asyncapi_json() -> Response:
        return Response(_rendered()[0], media_type="application/json")

    @app.get(HTML_PATH, include_in_schema=False)
    async def asyncapi_html() -> HTMLResponse:
        return HTMLResponse(_rendered()[1])
