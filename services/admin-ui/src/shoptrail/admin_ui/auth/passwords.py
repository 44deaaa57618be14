"""Password hashing with argon2id (the library's recommended parameters)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from pydantic import SecretStr

_hasher = PasswordHasher()

# Verified against when the user name is unknown, so that a wrong name costs the same
# time as a wrong password and the response time does not reveal which names exist.
_DECOY_HASH = _hasher.hash("decoy password, never a real one")


def hash_password(password: str) -> str:
    """An argon2id hash of `password`, salted, in the standard `$argon2id$…` form."""
    return _hasher.hash(password)


def verify_password(password_hash: SecretStr | None, password: str) -> bool:
    """True when `password` matches; with no hash, spend the same effort and say no."""
    stored = password_hash.get_secret_value() if password_hash else _DECOY_HASH
    try:
        matched = _hasher.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
    return matched and password_hash is not None
