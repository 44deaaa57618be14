"""Service-to-service authentication: a bearer token shared by caller and callee."""

from __future__ import annotations

import hmac
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, status
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import SecretStr
from starlette.types import ASGIApp, Receive, Scope, Send

_bearer = HTTPBearer(auto_error=False, description="The service token (`*_SERVICE_TOKEN`).")

AUTH_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"description": "Missing or wrong service token."}
}
"""For `include_router(…, responses=AUTH_RESPONSES)` beside the guard, so the OpenAPI says so."""


def service_token_guard(
    token: SecretStr,
) -> Callable[..., Coroutine[Any, Any, None]]:
    """A FastAPI dependency that admits only requests bearing `token`.

    Use as `dependencies=[Depends(service_token_guard(settings.service_token))]`.
    """
    expected = token.get_secret_value().encode()

    async def guard(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> None:
        if credentials is None:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                "missing bearer token",
                headers={"WWW-Authenticate": "Bearer"},
            )
        if not hmac.compare_digest(credentials.credentials.encode(), expected):
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                "invalid service token",
                headers={"WWW-Authenticate": "Bearer"},
            )

    return guard


OPERATIONS_PATHS = frozenset(
    {
        "/metrics",
        "/openapi.json",
        "/docs",
        "/docs/oauth2-redirect",
        "/redoc",
        "/asyncapi.json",
        "/asyncapi",
    }
)
"""What an operator's tools read: open in dev, behind the service token in prod.
(`/healthz` and `/readyz` stay open: orchestrators probe them without credentials.)"""


class OperationsGuard:
    """ASGI middleware: `OPERATIONS_PATHS` need `Authorization: Bearer <token>`."""

    def __init__(self, app: ASGIApp, *, token: SecretStr) -> None:
        self.app = app
        self.expected = f"Bearer {token.get_secret_value()}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] in OPERATIONS_PATHS:
            given = dict(scope.get("headers", ())).get(b"authorization", b"")
            if not hmac.compare_digest(given, self.expected):
                response = JSONResponse(
                    {"detail": "missing or invalid service token"},
                    status_code=status.HTTP_401_UNAUTHORIZED,
                    headers={"WWW-Authenticate": "Bearer"},
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def guard_operations(app: FastAPI, *, environment: str, token: SecretStr) -> None:
    """In prod, put metrics and API docs behind the service token (a Prometheus scrape
    sets `authorization: {credentials: <token>}`)."""
    if environment == "prod":
        app.add_middleware(OperationsGuard, token=token)
