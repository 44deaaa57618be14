"""CSRF protection: a synchronizer token kept in the session, checked on every unsafe method.

Forms carry it in a hidden `csrf_token` field; the page's script sends it in the
`X-CSRF-Token` header. A request the browser marks as cross-site is refused
outright, and so is one whose `Origin` is not this site's (defence in depth: a
stolen token is no use from another site).
"""

from __future__ import annotations

import hmac
import secrets

from fastapi import HTTPException, Request, status

SESSION_KEY = "csrf"
FORM_FIELD = "csrf_token"
HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def new_token() -> str:
    return secrets.token_urlsafe(32)


def session_token(request: Request) -> str:
    """This session's token, created on first use (the login form needs one too)."""
    token = request.session.get(SESSION_KEY)
    if not isinstance(token, str):
        token = new_token()
        request.session[SESSION_KEY] = token
    return token


def tokens_match(expected: object, given: object) -> bool:
    """Constant-time comparison; anything missing or not a string never matches."""
    if not isinstance(expected, str) or not isinstance(given, str) or not expected:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())


def this_origin(request: Request) -> str:
    """`scheme://host[:port]` the browser reached us at (behind a proxy: as it says)."""
    return f"{request.url.scheme}://{request.url.netloc}"


async def csrf_protect(request: Request) -> None:
    """App-wide dependency: POST, PUT, PATCH and DELETE need the session's token."""
    if request.method in SAFE_METHODS:
        return
    if request.headers.get("Sec-Fetch-Site") == "cross-site":
        raise HTTPException(status.HTTP_403_FORBIDDEN, "cross-site request refused")
    origin = request.headers.get("Origin")
    if origin is not None and origin != this_origin(request):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "request from another site refused")
    given = request.headers.get(HEADER)
    if given is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        given_field = (await request.form()).get(FORM_FIELD)
        given = given_field if isinstance(given_field, str) else None
    if not tokens_match(request.session.get(SESSION_KEY), given):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "missing or invalid CSRF token")
