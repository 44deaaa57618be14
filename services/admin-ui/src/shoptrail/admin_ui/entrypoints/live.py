"""What the page's script needs for live updates: a fresh WebSocket token."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from shoptrail.admin_ui.auth.sessions import UserDep
from shoptrail.admin_ui.entrypoints.web import ServicesDep
from shoptrail.admin_ui.service_layer.ports import NotFoundError

router = APIRouter(prefix="/admin", tags=["live"])


@router.get("/live-token")
async def live_token(services: ServicesDep, user: UserDep) -> JSONResponse:
    """A short-lived token minted by the activity service, fetched before every (re)connect."""
    try:
        token = await services.activity.live_token(user)
    except NotFoundError:
        return JSONResponse({"detail": "live updates are not available"}, status_code=503)
    return JSONResponse(
        {"token": token.token, "expires_at": token.expires_at.isoformat(), "url": token.url}
    )
