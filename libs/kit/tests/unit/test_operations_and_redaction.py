"""Operators' doors are closed to strangers in prod; logs keep query values out."""

from __future__ import annotations

import logging

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr

from shoptrail.kit.auth import guard_operations
from shoptrail.kit.health import health_router
from shoptrail.kit.logging import QueryRedaction, redact_query

TOKEN = SecretStr("q3Zr8-Wm1aYtK7vP0sLx4Nd2Bf9Hc6Jg5Ue_Ro8TyIk")


def app(environment: str) -> FastAPI:
    made = FastAPI()
    made.include_router(health_router("demo", checks={}))

    @made.get("/metrics")
    async def metrics() -> dict[str, int]:
        return {"up": 1}

    guard_operations(made, environment=environment, token=TOKEN)
    return made


async def get(made: FastAPI, path: str, token: str | None = None) -> int:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    transport = httpx.ASGITransport(app=made)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return (await client.get(path, headers=headers)).status_code


@pytest.mark.parametrize("path", ["/metrics", "/openapi.json", "/docs", "/redoc"])
async def test_prod_keeps_metrics_and_docs_behind_the_service_token(path: str) -> None:
    prod = app("prod")
    assert await get(prod, path) == 401
    assert await get(prod, path, token="wrong") == 401
    assert await get(prod, path, token=TOKEN.get_secret_value()) == 200


async def test_probes_stay_open_and_dev_is_unguarded() -> None:
    assert await get(app("prod"), "/healthz") == 200
    assert await get(app("prod"), "/readyz") == 200
    assert await get(app("dev"), "/metrics") == 200
    assert await get(app("dev"), "/openapi.json") == 200


@pytest.mark.parametrize(
    ("path", "logged"),
    [
        ("/ws?token=secret.sig&feed=1", "/ws?token=…&feed=…"),
        ("/api/feed?q=sam%40example.com", "/api/feed?q=…"),
        ("/api/feed", "/api/feed"),
        ("/x?flag", "/x?flag=…"),
    ],
)
def test_query_values_are_left_out_of_access_lines(path: str, logged: str) -> None:
    assert redact_query(path) == logged
    record = logging.LogRecord(
        "uvicorn.access", logging.INFO, __file__, 1,
        '%s - "%s %s HTTP/%s" %d', ("127.0.0.1:5000", "GET", path, "1.1", 200), None,
    )  # fmt: skip
    assert QueryRedaction().filter(record)
    assert record.getMessage() == f'127.0.0.1:5000 - "GET {logged} HTTP/1.1" 200'


def test_websocket_lines_are_redacted_too() -> None:
    record = logging.LogRecord(
        "uvicorn.error", logging.INFO, __file__, 1,
        '%s - "WebSocket %s" [accepted]', ("127.0.0.1:5000", "/ws?token=abc.def"), None,
    )  # fmt: skip
    QueryRedaction().filter(record)
    assert "abc.def" not in record.getMessage()
