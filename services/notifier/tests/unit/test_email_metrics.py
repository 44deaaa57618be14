"""Emails are counted by what the mail server did with them, and nothing else changes."""

from __future__ import annotations

from email.message import EmailMessage

import pytest
from prometheus_client import CollectorRegistry

from shoptrail.notifier.adapters.metrics import CountingMailer, EmailMetrics
from shoptrail.notifier.domain import problems
from shoptrail.notifier.service_layer.ports import (
    Mailer,
    OperatorActionError,
    PermanentSendError,
    TemporarySendError,
)


class ScriptedMailer(Mailer):
    """Answers each send with the next outcome: None (accepted) or an error to raise."""

    def __init__(self, *outcomes: Exception | None) -> None:
        self.outcomes = list(outcomes)
        self.sent: list[EmailMessage] = []

    async def send(self, message: EmailMessage) -> None:
        outcome = self.outcomes.pop(0)
        if outcome is not None:
            raise outcome
        self.sent.append(message)


async def test_each_send_is_counted_by_outcome_and_errors_pass_through() -> None:
    registry = CollectorRegistry()
    held = OperatorActionError(problems.sender_refused("550 sender refused"))
    errors: list[Exception] = [
        TemporarySendError("421 try later"),
        PermanentSendError("550 no such user"),
        held,
    ]
    inner = ScriptedMailer(None, None, *errors)
    mailer = CountingMailer(inner, EmailMetrics(registry))

    await mailer.send(EmailMessage())
    await mailer.send(EmailMessage())
    for error in errors:
        with pytest.raises(type(error)) as raised:
            await mailer.send(EmailMessage())
        assert raised.value is error  # the use case still decides what it means

    def count(outcome: str) -> float | None:
        return registry.get_sample_value("shoptrail_emails_total", {"outcome": outcome})

    assert len(inner.sent) == 2
    assert (count("sent"), count("failed"), count("bounced"), count("held")) == (2, 1, 1, 1)
    timed = registry.get_sample_value(
        "shoptrail_email_send_duration_seconds_count", {"outcome": "sent"}
    )
    assert timed == 2
