"""Service-to-service authentication: a bearer token shared by caller and callee."""

from __future__ import annotations

import hmac
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, HTTPException, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import SecretStr

_bearer = HTTPBearer(auto_error=False, description="The service token (`*_SERVICE_TOKEN`).")


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
