"""Server-side sessions: who is signed in, and the guard every admin page uses.

The signed cookie carries a random session id (plus the user name, the CSRF
token and a fingerprint of the account's password hash); the session itself
lives in the activity service's database, which answers on every request
whether it is still live. Logout ends it there (and with it every live socket
of that session, on every replica); so does its absolute lifetime
(`ADMIN_UI_SESSION_LIFETIME_S`), a quiet spell of `ADMIN_UI_SESSION_MAX_AGE_S`,
removing the account or changing its password.
"""

from __future__ import annotations

import hashlib
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, Request

from shoptrail.admin_ui.auth import csrf
from shoptrail.admin_ui.config import Settings
from shoptrail.admin_ui.service_layer.ports import ActivityPort

USER_KEY = "user"
SESSION_ID_KEY = "sid"
ACCOUNT_KEY = "account"
LOGIN_PATH = "/admin/login"


class LoginRequiredError(Exception):
    """No valid session: pages redirect to the login form, script requests get a 401."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path

    @property
    def login_url(self) -> str:
        return f"{LOGIN_PATH}?{urlencode({'next': self.next_path})}"


def _fingerprint(settings: Settings, username: str) -> str | None:
    """A short digest of the account's password hash: changing the password ends its sessions."""
    account = next((a for a in settings.admins if a.username == username), None)
    if account is None:
        return None
    digest = hashlib.sha256(account.password_hash.get_secret_value().encode()).hexdigest()
    return digest[:16]


def _activity(request: Request) -> ActivityPort:
    services: Any = request.app.state.services
    activity: ActivityPort = services.activity
    return activity


async def start_session(request: Request, username: str) -> None:
    """A fresh server-side session (and CSRF token) for a user who just proved who they are.

    Any session this browser had is ended first (rotation at login).
    """
    settings: Settings = request.app.state.settings
    await end_session(request)
    request.session[SESSION_ID_KEY] = await _activity(request).start_session(
        username, lifetime_s=settings.session_lifetime_s, idle_s=settings.session_max_age_s
    )
    request.session[USER_KEY] = username
    request.session[ACCOUNT_KEY] = _fingerprint(settings, username)
    request.session[csrf.SESSION_KEY] = csrf.new_token()


async def end_session(request: Request) -> None:
    """End the session everywhere (its live sockets close within a second), then the cookie."""
    sid = session_id(request)
    request.session.clear()
    request.state.user = None
    if sid:
        await _activity(request).end_session(sid)


def session_id(request: Request) -> str | None:
    sid = request.session.get(SESSION_ID_KEY)
    return sid if isinstance(sid, str) else None


async def current_user(request: Request) -> str | None:
    """The signed-in user: the session is live in activity's store (not logged out, not
    past its lifetime or idle), the account still exists and its password is unchanged.
    Asked once per request."""
    if hasattr(request.state, "user"):
        cached: str | None = request.state.user
        return cached
    user = None
    settings: Settings = request.app.state.settings
    sid, claimed = session_id(request), request.session.get(USER_KEY)
    if sid and isinstance(claimed, str):
        fingerprint = _fingerprint(settings, claimed)
        if fingerprint is not None and fingerprint == request.session.get(ACCOUNT_KEY):
            user = await _activity(request).session_user(sid)
            user = user if user == claimed else None
    if user is None and sid:
        request.session.pop(SESSION_ID_KEY, None)  # a dead session id is of no use
    request.state.user = user
    return user


async def require_user(request: Request) -> str:
    user = await current_user(request)
    if user is None:
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequiredError(path)
    return user


def safe_next(target: str | None) -> str:
    """Where to go after logging in: only a path on this site (no `//evil`, no scheme)."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/admin/activity"
    return target


UserDep = Annotated[str, Depends(require_user)]
