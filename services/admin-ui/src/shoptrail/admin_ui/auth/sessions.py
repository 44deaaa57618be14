"""Signed-cookie sessions: who is signed in, and the guard every admin page uses."""

from __future__ import annotations

import time
from typing import Annotated
from urllib.parse import urlencode

from fastapi import Depends, Request

from shoptrail.admin_ui.auth import csrf
from shoptrail.admin_ui.config import Settings

USER_KEY = "user"
LOGIN_PATH = "/admin/login"


class LoginRequiredError(Exception):
    """No valid session: pages redirect to the login form, script requests get a 401."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path

    @property
    def login_url(self) -> str:
        return f"{LOGIN_PATH}?{urlencode({'next': self.next_path})}"


def start_session(request: Request, username: str) -> None:
    """A fresh session (and a fresh CSRF token) for a user who just proved who they are."""
    request.session.clear()
    request.session[USER_KEY] = username
    request.session[csrf.SESSION_KEY] = csrf.new_token()
    request.session["since"] = int(time.time())


def end_session(request: Request) -> None:
    request.session.clear()


def current_user(request: Request) -> str | None:
    """The signed-in user, if their account still exists (removing it ends their sessions)."""
    settings: Settings = request.app.state.settings
    user = request.session.get(USER_KEY)
    if isinstance(user, str) and any(a.username == user for a in settings.admins):
        return user
    return None


async def require_user(request: Request) -> str:
    user = current_user(request)
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
