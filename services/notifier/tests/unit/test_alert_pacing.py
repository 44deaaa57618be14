"""The pure rules of alert pacing: first at once, then one digest per interval, quiet hours."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime, time, timedelta

from shoptrail.notifier.domain.alerts import (
    AlertItem,
    AlertSettings,
    body,
    next_send_at,
    quiet_until,
    sign_webhook,
    slack_text,
    valid_webhook_secret,
)

NOON = datetime(2026, 2, 23, 12, 0, tzinfo=UTC)


def test_first_alert_goes_at_once_then_one_per_interval() -> None:
    chosen = AlertSettings(enabled=True, email="o@example.com", digest_minutes=15)
    assert next_send_at(chosen, None, NOON) == NOON
    assert next_send_at(chosen, NOON, NOON + timedelta(minutes=1)) == NOON + timedelta(minutes=15)
    late = NOON + timedelta(hours=2)
    assert next_send_at(chosen, NOON, late) == late


def test_quiet_hours_across_midnight_wait_for_their_end_in_the_owners_zone() -> None:
    chosen = AlertSettings(quiet_start=time(22, 0), quiet_end=time(7, 0), timezone="Europe/Paris")
    at_23_paris = datetime(2026, 2, 23, 22, 0, tzinfo=UTC)
    end = quiet_until(chosen, at_23_paris)
    assert end is not None and end.astimezone(UTC) == datetime(2026, 2, 24, 6, 0, tzinfo=UTC)
    at_03_paris = datetime(2026, 2, 24, 2, 0, tzinfo=UTC)
    assert quiet_until(chosen, at_03_paris) == end
    assert quiet_until(chosen, NOON) is None
    assert quiet_until(AlertSettings(quiet_start=time(9), quiet_end=time(9)), NOON) is None


def test_a_digest_due_in_quiet_hours_goes_when_they_end() -> None:
    chosen = AlertSettings(
        enabled=True, email="o@example.com", quiet_start=time(12, 5), quiet_end=time(13, 0)
    )
    assert next_send_at(chosen, NOON - timedelta(minutes=10), NOON + timedelta(minutes=6)) == (
        NOON + timedelta(hours=1)
    )


def test_texts_link_each_entry_and_escape_slack_markup() -> None:
    items = [AlertItem(entry_id=7, title="<b>x</b> | y", level="error")]
    assert "https://a.example/admin/entries/7" in body(items, admin_url="https://a.example/")
    slack = slack_text(items, admin_url="https://a.example")
    assert "<https://a.example/admin/entries/7|&lt;b&gt;x&lt;/b&gt; ¦ y>" in slack


def test_standard_webhooks_signature_matches_the_reference_construction() -> None:
    key = b"0123456789abcdef0123"
    secret = "whsec_" + base64.b64encode(key).decode()
    payload = b'{"text": "hi"}'
    expected = hmac.new(key, b"msg_1.1700000000." + payload, hashlib.sha256).digest()
    assert sign_webhook(secret, "msg_1", 1700000000, payload) == (
        "v1," + base64.b64encode(expected).decode()
    )
    assert valid_webhook_secret(secret)
    assert not valid_webhook_secret("whsec_short") and not valid_webhook_secret(key.decode())


def test_entries_alike_fold_into_one_counted_line_linking_their_group() -> None:
    items = [
        *(AlertItem(entry_id=n, title="Submission failed", level="error", fingerprint="ab/c")
          for n in range(1, 4)),
        AlertItem(entry_id=9, title="Email bounced", level="warning", fingerprint="ef"),
        AlertItem(entry_id=10, title="Odd", level="error"),
    ]  # fmt: skip
    text = body(items, admin_url="https://a.example")
    assert (
        "- [error] Submission failed (3 times)\n  https://a.example/admin/activity/groups/ab%2Fc"
        in text
    )
    assert "- [warning] Email bounced\n  https://a.example/admin/entries/9" in text
    assert "https://a.example/admin/entries/10" in text
    assert text.count("Submission failed") == 1
    assert "(3 times)" in slack_text(items, admin_url="https://a.example")
