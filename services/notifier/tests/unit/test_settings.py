"""Service settings: placeholder secrets are refused outside dev."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from shoptrail.notifier.config import Settings


def test_prod_refuses_the_placeholder_unsubscribe_secret() -> None:
    with pytest.raises(ValidationError, match="unsubscribe_secret"):
        Settings(environment="prod", service_token=SecretStr("a-real-token"))


def test_recovery_is_delayed_an_hour_and_carts_kept_30_days_by_default() -> None:
    settings = Settings(environment="test")
    assert settings.recovery_delay.total_seconds() == 3600
    assert settings.cart_retention.days == 30


def test_the_journal_lives_under_the_xdg_state_folder_unless_told_otherwise(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    assert Settings(environment="test").state_dir == tmp_path / "shoptrail-notifier"
    monkeypatch.setenv("NOTIFIER_STATE_DIR", "/srv/notifier-state")
    assert Settings(environment="test").state_dir == Path("/srv/notifier-state")
