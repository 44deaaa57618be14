"""Which SMTP failures are bounces (suppress, warn) and which are retried."""

from __future__ import annotations

import aiosmtplib
import pytest

from shoptrail.notifier.adapters.smtp import classify
from shoptrail.notifier.service_layer.ports import PermanentSendError, TemporarySendError


@pytest.mark.parametrize(
    "error",
    [
        aiosmtplib.SMTPRecipientsRefused(
            [aiosmtplib.SMTPRecipientRefused(550, "no such user", "a@b")]
        ),
        aiosmtplib.SMTPDataError(554, "message rejected"),
    ],
)
def test_a_5xx_refusal_of_the_recipient_or_message_is_a_bounce(error: Exception) -> None:
    assert isinstance(classify(error), PermanentSendError)


@pytest.mark.parametrize(
    "error",
    [
        aiosmtplib.SMTPRecipientsRefused([aiosmtplib.SMTPRecipientRefused(451, "busy", "a@b")]),
        aiosmtplib.SMTPAuthenticationError(535, "bad credentials"),
        aiosmtplib.SMTPSenderRefused(550, "sender not allowed", "shop@x"),
        aiosmtplib.SMTPConnectError("connection refused"),
        TimeoutError(),
    ],
)
def test_our_own_or_passing_trouble_is_retried_never_blamed_on_the_customer(
    error: Exception,
) -> None:
    assert isinstance(classify(error), TemporarySendError)
