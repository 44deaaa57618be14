"""What makes an admin password too weak: short, common, or a pattern.

Only argon2 hashes reach the service, so the full rule runs where a password
is still in hand (`shoptrail-admin-ui hash-password`), and at start-up in prod
each configured hash is tried against the most common passwords (`WORST`),
which catches a hash made some other way.
"""

from __future__ import annotations

from itertools import pairwise

MIN_LENGTH = 12

WORST = (
    "password",
    "123456",
    "12345678",
    "123456789",
    "1234567890",
    "admin",
    "admin123",
    "password1",
    "password123",
    "qwerty",
    "letmein",
    "changeme",
    "shoptrail",
)
"""Tried against every hash at start-up in prod (each try costs one argon2 verify)."""

COMMON = frozenset(
    (
        *WORST,
        "123456789012",
        "1234567890123",
        "password1234",
        "password12345",
        "passwordpassword",
        "qwertyuiop",
        "qwertyuiopas",
        "qwerty123456",
        "1q2w3e4r5t6y",
        "1qaz2wsx3edc",
        "administrator",
        "administrator1",
        "adminadmin123",
        "iloveyou1234",
        "welcome12345",
        "letmein12345",
        "changeme1234",
        "shoptrail123",
        "shoptrail2026",
        "abcdefghijkl",
        "abc123abc123",
        "aaaaaaaaaaaa",
        "000000000000",
        "111111111111",
        "trustno1trustno1",
        "correcthorsebatterystaple",
    )
)


def password_problem(password: str, *, username: str | None = None) -> str | None:
    """Why `password` is too weak for an admin account, or None."""
    if len(password) < MIN_LENGTH:
        return f"use at least {MIN_LENGTH} characters"
    lowered = password.lower()
    if lowered in COMMON:
        return "this password is on the list of the most common ones"
    if len(set(lowered)) < 5:
        return "use more different characters"
    if username and username.lower() in lowered:
        return "do not put the user name in the password"
    if _is_run(lowered):
        return "a run of keys or digits (abcd…, 1234…) is guessed first"
    return None


def _is_run(text: str) -> bool:
    """Every character one step after the one before (`abcdefghijkl`, `987654321098`)."""
    steps = {ord(b) - ord(a) for a, b in pairwise(text)}
    return steps <= {1, -9} or steps <= {-1, 9}
