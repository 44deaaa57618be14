"""Problems only the shop's operator can fix: what stops emails, said once, with the fix (pure).

While one is open, emails are *held* rather than retried as if the trouble
would pass: a refused sender or login does not get better by trying again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

SERVICE = "notifier"

SENDER_REFUSED = "notifier.smtp_sender_refused"
SMTPUTF8_UNSUPPORTED = "notifier.smtp_utf8_unsupported"
AUTH_REFUSED = "notifier.smtp_auth_refused"
TLS_MISMATCH = "notifier.smtp_tls_mismatch"
SENDER_INVALID = "notifier.sender_address_invalid"


@dataclass(frozen=True)
class OperatorProblem:
    """What stopped, in the shop's words, and what to change (`key` is stable)."""

    key: str
    summary: str
    fix: str
    detail: str | None = None


@dataclass(frozen=True)
class OpenProblem:
    """A problem as the notifier keeps it until a send succeeds again."""

    problem: OperatorProblem
    opened_at: datetime
    last_seen_at: datetime
    holding: bool
    """True: new emails are held without trying; False: the next sends are a trial."""
    trial_at: datetime | None = None


def sender_refused(detail: str) -> OperatorProblem:
    return OperatorProblem(
        SENDER_REFUSED,
        "Emails are on hold: the mail server refuses the sender address",
        "set a sender address your mail server lets this account send from (Settings → Emails)",
        detail,
    )


def smtputf8_unsupported(detail: str) -> OperatorProblem:
    return OperatorProblem(
        SMTPUTF8_UNSUPPORTED,
        "Emails are on hold: the sender address has non-ASCII characters, "
        "which the mail server does not accept (no SMTPUTF8)",
        "set a sender address with only ASCII letters, digits and . _ - + before the @ "
        "(Settings → Emails)",
        detail,
    )


def auth_refused(detail: str) -> OperatorProblem:
    return OperatorProblem(
        AUTH_REFUSED,
        "Emails are on hold: the mail server refuses the notifier's login",
        "check NOTIFIER_SMTP_USERNAME and NOTIFIER_SMTP_PASSWORD, and NOTIFIER_SMTP_SECURITY "
        "(many servers offer a login only over TLS), then restart the notifier",
        detail,
    )


def tls_mismatch(detail: str) -> OperatorProblem:
    return OperatorProblem(
        TLS_MISMATCH,
        "Emails are on hold: the notifier and the mail server do not agree on encryption (TLS)",
        "set NOTIFIER_SMTP_SECURITY (none, starttls or tls) and NOTIFIER_SMTP_PORT to what "
        "the mail server expects; for a certificate error, give the server a certificate "
        "for its name. Then restart the notifier",
        detail,
    )


def sender_invalid(detail: str) -> OperatorProblem:
    return OperatorProblem(
        SENDER_INVALID,
        "Emails are on hold: the saved sender address is not one a mail server accepts",
        "save a valid sender address (Settings → Emails)",
        detail,
    )


def probe_due(problems: list[OpenProblem], *, now: datetime, every: timedelta) -> bool:
    """Whether to try one held email again: `every` after the last failure or trial."""
    if not problems:
        return False
    last = max(max(p.last_seen_at, p.trial_at or p.last_seen_at) for p in problems)
    return now - last >= every


def cleared_summary(released: int) -> str:
    """The words that resolve the problem's entry in the shop's log."""
    if not released:
        return "Emails are flowing again"
    held = "1 held email" if released == 1 else f"{released} held emails"
    return f"Emails are flowing again: {held} released"
