"""Short-lived, signed tokens that admit a browser to the WebSocket."""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta


class InvalidTokenError(ValueError):
    """Forged, altered, malformed or expired."""


@dataclass(frozen=True)
class Claims:
    subject: str
    expires_at: datetime
    session: bytes | None = None
    """The admin session (its SHA-256) the token was minted for: the socket lives only as
    long as that session does."""


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def mint(
    secret: bytes,
    *,
    subject: str,
    ttl: timedelta,
    now: datetime,
    session: bytes | None = None,
) -> tuple[str, datetime]:
    """A token for `subject` (e.g. the admin's name) valid for `ttl`, bound to `session`."""
    expires = (now + ttl).replace(microsecond=0)
    bound = session.hex() if session else ""
    payload = f"{subject}|{bound}|{int(expires.timestamp())}".encode()
    signature = hmac.new(secret, payload, hashlib.sha256).digest()
    return f"{_b64(payload)}.{_b64(signature)}", expires


def verify(secret: bytes, token: str, *, now: datetime) -> Claims:
    """The token's claims, if it is genuine and unexpired."""
    try:
        payload_part, signature_part = token.split(".")
        payload, signature = _unb64(payload_part), _unb64(signature_part)
    except ValueError:
        raise InvalidTokenError("malformed token") from None
    expected = hmac.new(secret, payload, hashlib.sha256).digest()
    if not hmac.compare_digest(signature, expected):
        raise InvalidTokenError("bad signature")
    rest, _, expiry = payload.decode(errors="replace").rpartition("|")
    subject, _, bound = rest.rpartition("|")
    try:
        expires = datetime.fromtimestamp(int(expiry), UTC)
        session = bytes.fromhex(bound) if bound else None
    except ValueError:
        raise InvalidTokenError("malformed token") from None
    if expires <= now:
        raise InvalidTokenError("token expired")
    return Claims(subject, expires, session)
