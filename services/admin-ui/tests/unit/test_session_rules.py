"""Which cookie still names a signed-in user: the session live, the account unchanged."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from pydantic import SecretStr

from shoptrail.admin_ui.auth import sessions
from shoptrail.admin_ui.auth.passwords import hash_password
from shoptrail.admin_ui.config import AdminAccount, Settings


class Activity:
    """The session store as activity keeps it: live ids and their users."""

    def __init__(self) -> None:
        self.live: dict[str, str] = {}
        self.asked = 0

    async def start_session(self, user: str, *, lifetime_s: int, idle_s: int) -> str:
        sid = f"sid-{len(self.live) + 1}"
        self.live[sid] = user
        return sid

    async def session_user(self, session: str) -> str | None:
        self.asked += 1
        return self.live.get(session)

    async def end_session(self, session: str) -> None:
        self.live.pop(session, None)


def request(settings: Settings, activity: Activity, cookie: dict[str, Any]) -> Any:
    app = SimpleNamespace(
        state=SimpleNamespace(settings=settings, services=SimpleNamespace(activity=activity))
    )
    return SimpleNamespace(app=app, session=cookie, state=SimpleNamespace())


def settings_with(password_hash: str) -> Settings:
    account = AdminAccount(username="alice", password_hash=SecretStr(password_hash))
    return Settings(environment="test", admins=(account,))


async def test_changing_the_password_ends_the_accounts_sessions() -> None:
    activity, before = Activity(), settings_with(hash_password("first long password"))
    cookie: dict[str, Any] = {}
    await sessions.start_session(request(before, activity, cookie), "alice")
    assert await sessions.current_user(request(before, activity, dict(cookie))) == "alice"

    after = settings_with(hash_password("second long password"))  # the admin redeployed
    assert await sessions.current_user(request(after, activity, dict(cookie))) is None


async def test_removing_the_account_or_ending_the_session_ends_it_and_it_is_asked_once() -> None:
    activity, settings = Activity(), settings_with(hash_password("first long password"))
    cookie: dict[str, Any] = {}
    await sessions.start_session(request(settings, activity, cookie), "alice")
    same_request = request(settings, activity, dict(cookie))
    assert await sessions.current_user(same_request) == "alice"
    assert await sessions.current_user(same_request) == "alice"
    assert activity.asked == 1, "one question to activity per request"

    nobody = Settings(
        environment="test",
        admins=(AdminAccount(username="bob", password_hash=SecretStr(hash_password("x" * 12))),),
    )
    assert await sessions.current_user(request(nobody, activity, dict(cookie))) is None

    activity.live.clear()  # logged out elsewhere, expired or idle
    assert await sessions.current_user(request(settings, activity, dict(cookie))) is None


async def test_a_cookie_naming_another_user_than_its_session_opens_nothing() -> None:
    activity, settings = Activity(), settings_with(hash_password("first long password"))
    cookie: dict[str, Any] = {}
    await sessions.start_session(request(settings, activity, cookie), "alice")
    activity.live[cookie["sid"]] = "mallory"
    assert await sessions.current_user(request(settings, activity, dict(cookie))) is None
