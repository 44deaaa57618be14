"""Signed, tamper-proof unsubscribe tokens (HMAC-SHA256), no database needed to check them.

A token is `v1.<address>.<signature>`, both parts base64url without padding. The
address is readable by whoever holds the link (its own recipient); the
signature makes it impossible to unsubscribe anyone else. Tokens do not
expire: an unsubscribe link must keep working for as long as the email exists.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

from shoptrail.notifier.domain.model import normalize_email

_VERSION = "v1"
_PURPOSE = b"shoptrail-notifier/unsubscribe/v1\x00"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class UnsubscribeTokens:
    """Issues and verifies unsubscribe tokens with one secret."""

    def __init__(self, secret: bytes) -> None:
        if not secret:
            raise ValueError("the unsubscribe secret must not be empty")
        self._secret = secret

    def _sign(self, address: bytes) -> bytes:
        return hmac.new(self._secret, _PURPOSE + address, hashlib.sha256).digest()

    def issue(self, email: str) -> str:
        """A token that unsubscribes `email` (normalized) and nothing else."""
        address = normalize_email(email).encode()
        return f"{_VERSION}.{_b64(address)}.{_b64(self._sign(address))}"

    def verify(self, token: str) -> str | None:
        """The address a genuine token names; None for forged, altered or garbled tokens."""
        version, _, rest = token.partition(".")
        encoded_address, _, encoded_signature = rest.partition(".")
        if version != _VERSION or not encoded_address or not encoded_signature:
            return None
        try:
            address = _unb64(encoded_address)
            signature = _unb64(encoded_signature)
        except (binascii.Error, ValueError):
            return None
        if _b64(address) != encoded_address or _b64(signature) != encoded_signature:
            return None  # the decoder skips stray characters; only the canonical form counts
        if not hmac.compare_digest(signature, self._sign(address)):
            return None
        try:
            return address.decode()
        except UnicodeDecodeError:
            return None
