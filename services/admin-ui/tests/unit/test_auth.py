"""Passwords, accounts from settings, CSRF token checks, and where a login may send you."""

from __future__ import annotations

import pytest
from pydantic import SecretStr, ValidationError

from shoptrail.admin_ui.auth.accounts import authenticate
from shoptrail.admin_ui.auth.csrf import new_token, tokens_match
from shoptrail.admin_ui.auth.passwords import hash_password, verify_password
from shoptrail.admin_ui.auth.sessions import safe_next
from shoptrail.admin_ui.auth.strength import password_problem
from shoptrail.admin_ui.config import DEV_PASSWORD, Settings, parse_accounts
from shoptrail.admin_ui.entrypoints.cli import main


def strong(tag: str) -> str:
    """A signing-grade secret (as `secrets.token_urlsafe(32)` makes), distinct per tag."""
    return f"{tag}-q3Zr8Wm1aYtK7vP0sLx4Nd2Bf9Hc6Jg5Ue_Ro8TyIk"


def prod_settings(admins: str) -> Settings:
    return Settings(
        environment="prod",
        session_secret=SecretStr(strong("s")),
        activity_token=SecretStr(strong("a")),
        fulfilment_token=SecretStr(strong("f")),
        notifier_token=SecretStr(strong("n")),
        service_token=SecretStr(strong("t")),
        admins=admins,
    )


class TestPasswords:
    def test_a_hash_verifies_its_password_and_nothing_else(self) -> None:
        hashed = hash_password("correct horse battery")
        assert hashed.startswith("$argon2id$")
        assert verify_password(SecretStr(hashed), "correct horse battery")
        assert not verify_password(SecretStr(hashed), "correct horse batterY")

    def test_the_same_password_hashes_differently_each_time(self) -> None:
        assert hash_password("same password") != hash_password("same password")

    def test_no_hash_or_a_broken_one_never_verifies(self) -> None:
        assert not verify_password(None, "decoy password, never a real one")
        assert not verify_password(SecretStr("$argon2id$garbage"), "x")


class TestAccounts:
    def test_several_admins_parse_although_hashes_contain_commas(self) -> None:
        alice, bob = hash_password("alice password"), hash_password("bob password")
        accounts = parse_accounts(f"alice:{alice}, bob:{bob}")
        assert [a.username for a in accounts] == ["alice", "bob"]
        assert authenticate(accounts, "bob", "bob password") == "bob"
        assert authenticate(accounts, "bob", "alice password") is None
        assert authenticate(accounts, "carol", "bob password") is None

    def test_a_plain_text_password_is_refused_as_configuration(self) -> None:
        with pytest.raises(ValidationError, match="argon2"):
            Settings(environment="test", admins="alice:hunter2")

    def test_the_dev_account_works_in_dev(self) -> None:
        assert authenticate(Settings().admins, "admin", DEV_PASSWORD) == "admin"

    def test_prod_refuses_the_dev_account_and_placeholder_secrets(self) -> None:
        with pytest.raises(ValidationError) as refused:
            Settings(environment="prod")
        assert "session_secret" in str(refused.value)
        real = f"owner:{hash_password('a real long password')}"
        with pytest.raises(ValidationError, match="dev placeholder password"):
            prod_settings(f"{real},admin:{hash_password(DEV_PASSWORD)}")

    def test_prod_starts_with_real_secrets(self) -> None:
        settings = prod_settings(f"owner:{hash_password('a real long password')}")
        assert settings.cookies_secure


class TestCsrfTokens:
    def test_tokens_are_long_and_random(self) -> None:
        assert len(new_token()) >= 40
        assert new_token() != new_token()

    @pytest.mark.parametrize(
        ("expected", "given", "match"),
        [
            ("abc123", "abc123", True),
            ("abc123", "abc124", False),
            ("abc123", "", False),
            ("abc123", None, False),
            (None, None, False),
            ("", "", False),
        ],
    )
    def test_matching(self, expected: object, given: object, match: bool) -> None:
        assert tokens_match(expected, given) is match


@pytest.mark.parametrize(
    ("target", "goes_to"),
    [
        ("/admin/orders/ord_1", "/admin/orders/ord_1"),
        ("/admin/activity?tab=attention", "/admin/activity?tab=attention"),
        ("//evil.example/", "/admin/activity"),
        ("/\\evil.example", "/admin/activity"),
        ("https://evil.example/", "/admin/activity"),
        ("", "/admin/activity"),
    ],
)
def test_after_login_only_paths_on_this_site(target: str, goes_to: str) -> None:
    assert safe_next(target) == goes_to


def test_hash_password_cli_prints_a_pasteable_account(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough password\n"))
    with pytest.raises(SystemExit) as done:
        main(["hash-password", "alice"])
    assert done.value.code == 0
    (account,) = parse_accounts(capsys.readouterr().out.strip())
    assert account.username == "alice"
    assert authenticate([account], "alice", "a long enough password") == "alice"


class TestWeakAdminPasswords:
    @pytest.mark.parametrize(
        "password",
        ["password", "Password123", "admin123", "shoptrail"],
    )
    def test_prod_refuses_a_hash_of_a_common_password(self, password: str) -> None:
        weak = f"owner:{hash_password(password.lower())}"
        with pytest.raises(ValidationError, match="most common passwords: \\['owner'\\]"):
            prod_settings(weak)

    @pytest.mark.parametrize(
        ("password", "why"),
        [
            ("password", "at least 12"),
            ("password1234", "most common"),
            ("PASSWORD1234", "most common"),
            ("aaaaaaaaaaaaaaaa", "different characters"),
            ("my name is alice!", "user name"),
            ("abcdefghijklmn", "run of keys"),
            ("3456789012345", "run of keys"),
        ],
    )
    def test_hash_password_refuses_a_weak_password(
        self,
        password: str,
        why: str,
        monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        import io

        assert why in (password_problem(password, username="alice") or "")
        monkeypatch.setattr("sys.stdin", io.StringIO(password + "\n"))
        with pytest.raises(SystemExit) as done:
            main(["hash-password", "alice"])
        assert done.value.code == 1
        captured = capsys.readouterr()
        assert why in captured.err and captured.out == ""
