"""What the page's script needs for live updates: a fresh WebSocket token."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from shoptrail.admin_ui.auth.sessions import UserDep, session_id
from shoptrail.admin_ui.entrypoints.web import ServicesDep
from shoptrail.admin_ui.service_layer.ports import NotFoundError

router = APIRouter(prefix="/admin", tags=["live"])


@router.get("/live-token")
async def live_token(request: Request, services: ServicesDep, user: UserDep) -> JSONResponse:
    """A short-lived token minted by the activity service, fetched before every (re)connect;
    bound to this session, so the socket closes when the session ends."""
    try:
        token = await services.activity.live_token(user, session=session_id(request) or "")
    except NotFoundError:
        # Activity says the session ended between our check and its token: log in again.
        return JSONResponse({"detail": "the session has ended"}, status_code=401)
    return JSONResponse(
        {"token": token.token, "expires_at": token.expires_at.isoformat(), "url": token.url}
    )
