"""Logging in and out."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Form, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from shoptrail.admin_ui.auth.accounts import authenticate
from shoptrail.admin_ui.auth.sessions import (
    LOGIN_PATH,
    current_user,
    end_session,
    safe_next,
    start_session,
)
from shoptrail.admin_ui.auth.throttle import LoginThrottle, ThrottledError
from shoptrail.admin_ui.config import Settings
from shoptrail.admin_ui.entrypoints.web import render_page

router = APIRouter(tags=["auth"])
log = logging.getLogger(__name__)


@router.get(LOGIN_PATH, response_class=HTMLResponse)
async def login_form(request: Request, next: str = "") -> Response:
    if await current_user(request):
        return RedirectResponse(safe_next(next), status_code=status.HTTP_303_SEE_OTHER)
    return await render_page(request, "login.html", next=safe_next(next), error=None, username="")


@router.post(LOGIN_PATH, response_class=HTMLResponse)
async def login(
    request: Request,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=1024)],
    next: Annotated[str, Form()] = "",
) -> Response:
    """Check the password (argon2, off the event loop, a bounded number at once); a fresh
    session on success. Repeated failures for a name or an address are throttled (429)."""
    settings: Settings = request.app.state.settings
    throttle: LoginThrottle = request.app.state.login_throttle
    address = request.client.host if request.client else "unknown"
    try:
        throttle.check(username, address)
        user = await throttle.verify(
            lambda: run_in_threadpool(authenticate, settings.admins, username, password)
        )
    except ThrottledError as wait:
        log.info("login throttled", extra={"retry_after_s": wait.retry_after_s})
        return await render_page(
            request,
            "login.html",
            status_code=status.HTTP_429_TOO_MANY_REQUESTS,
            headers={"Retry-After": str(wait.retry_after_s)},
            next=safe_next(next),
            error=f"Too many tries. Try again in {wait.retry_after_s} s.",
            username=username,
        )
    if user is None:
        throttle.failed(username, address)
        # No user name: a password typed into the name field would end up in the log.
        log.info("login refused")
        return await render_page(
            request,
            "login.html",
            status_code=status.HTTP_401_UNAUTHORIZED,
            next=safe_next(next),
            error="Wrong user name or password.",
            username=username,
        )
    throttle.succeeded(username, address)
    await start_session(request, user)
    log.info("logged in", extra={"username": user})
    return RedirectResponse(safe_next(next), status_code=status.HTTP_303_SEE_OTHER)


@router.post("/admin/logout")
async def logout(request: Request) -> RedirectResponse:
    await end_session(request)
    return RedirectResponse(LOGIN_PATH, status_code=status.HTTP_303_SEE_OTHER)
