"""Every HTTP service serves the bus's AsyncAPI document, the same one, as docs are served.

`/asyncapi.json` is the generated document itself (what `make schemas` checks
in as libs/events/asyncapi.json); `/asyncapi` is its page. Like `/docs` and
`/openapi.json`, they are open in dev and need the service token in prod.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr

from shoptrail.activity.bootstrap import create_app as activity_app
from shoptrail.activity.config import Settings as ActivitySettings
from shoptrail.fulfilment.bootstrap import create_app as fulfilment_app
from shoptrail.fulfilment.config import Settings as FulfilmentSettings
from shoptrail.ingest.bootstrap import create_app as ingest_app
from shoptrail.ingest.config import Settings as IngestSettings
from shoptrail.kit.asyncapi import serve_asyncapi
from shoptrail.kit.auth import guard_operations
from shoptrail.notifier.bootstrap import create_app as notifier_app
from shoptrail.notifier.config import Settings as NotifierSettings

CHECKED_IN = Path(__file__).resolve().parents[1] / "libs" / "events" / "asyncapi.json"

APPS: dict[str, Callable[[], FastAPI]] = {
    "ingest": lambda: ingest_app(IngestSettings(environment="test")),
    "fulfilment": lambda: fulfilment_app(FulfilmentSettings(environment="test")),
    "notifier": lambda: notifier_app(NotifierSettings(environment="test")),
    "activity": lambda: activity_app(ActivitySettings(environment="test")),
}


@pytest.mark.parametrize("service", sorted(APPS))
def test_the_service_serves_the_checked_in_asyncapi_document(service: str) -> None:
    client = TestClient(APPS[service]())  # no lifespan: nothing here needs Kafka or a database
    document: dict[str, Any] = client.get("/asyncapi.json").raise_for_status().json()
    assert document == json.loads(CHECKED_IN.read_text())
    page = client.get("/asyncapi").raise_for_status()
    assert page.headers["content-type"].startswith("text/html")
    assert "AsyncApiStandalone.render" in page.text
    assert "<title>Shoptrail events AsyncAPI</title>" in page.text
    assert "/asyncapi" not in client.get("/openapi.json").json()["paths"]


def test_in_prod_the_document_needs_the_service_token_like_the_openapi() -> None:
    app = FastAPI()
    serve_asyncapi(app)
    guard_operations(app, environment="prod", token=SecretStr("a-token"))
    client = TestClient(app)
    for path in ("/asyncapi.json", "/asyncapi", "/openapi.json"):
        assert client.get(path).status_code == 401, path
        authorised = client.get(path, headers={"Authorization": "Bearer a-token"})
        assert authorised.status_code == 200, path
