"""Checking a user name and password against the configured admin accounts."""

from __future__ import annotations

from collections.abc import Sequence

from shoptrail.admin_ui.auth.passwords import verify_password
from shoptrail.admin_ui.config import AdminAccount


def authenticate(accounts: Sequence[AdminAccount], username: str, password: str) -> str | None:
    """The account's user name if the password is right, else None (same cost either way)."""
    account = next((a for a in accounts if a.username == username), None)
    ok = verify_password(account.password_hash if account else None, password)
    return account.username if ok and account else None
