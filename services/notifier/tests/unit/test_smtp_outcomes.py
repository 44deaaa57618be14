"""Which SMTP failures are bounces (suppress, warn), the operator's to fix (hold), or retried."""

from __future__ import annotations

import ssl

import aiosmtplib
import pytest

from shoptrail.notifier.adapters.smtp import classify
from shoptrail.notifier.domain import problems
from shoptrail.notifier.service_layer.ports import (
    OperatorActionError,
    PermanentSendError,
    TemporarySendError,
)


def _wrapped(cause: BaseException, outer: Exception) -> Exception:
    outer.__cause__ = cause
    return outer


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
        aiosmtplib.SMTPSenderRefused(451, "greylisted, try later", "shop@x"),
        aiosmtplib.SMTPAuthenticationError(454, "temporary authentication failure"),
        aiosmtplib.SMTPConnectError("connection refused"),
        aiosmtplib.SMTPServerDisconnected("Connection lost"),
        _wrapped(ssl.SSLEOFError(8, "EOF occurred"), aiosmtplib.SMTPConnectError("cut short")),
        TimeoutError(),
    ],
)
def test_passing_trouble_is_retried_never_blamed_on_the_customer(error: Exception) -> None:
    assert isinstance(classify(error), TemporarySendError)


@pytest.mark.parametrize(
    ("error", "problem"),
    [
        (aiosmtplib.SMTPSenderRefused(553, "5.7.1 not owned", "a@x"), problems.SENDER_REFUSED),
        (aiosmtplib.SMTPSenderRefused(550, "sender rejected", "a@x"), problems.SENDER_REFUSED),
        (aiosmtplib.SMTPAuthenticationError(535, "bad credentials"), problems.AUTH_REFUSED),
        (
            aiosmtplib.SMTPSenderRefused(530, "5.7.0 Authentication required", "a@x"),
            problems.AUTH_REFUSED,
        ),
        (
            aiosmtplib.SMTPSenderRefused(530, "5.7.0 Must issue a STARTTLS command first", "a@x"),
            problems.TLS_MISMATCH,
        ),
        (
            aiosmtplib.SMTPException("The SMTP AUTH extension is not supported by this server."),
            problems.AUTH_REFUSED,
        ),
        (
            aiosmtplib.SMTPException("SMTP STARTTLS extension not supported by server."),
            problems.TLS_MISMATCH,
        ),
        (
            _wrapped(
                ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number"),
                aiosmtplib.SMTPConnectError("Error connecting: wrong version number"),
            ),
            problems.TLS_MISMATCH,
        ),
        (
            ssl.SSLCertVerificationError(1, "certificate verify failed: self-signed"),
            problems.TLS_MISMATCH,
        ),
    ],
)
def test_a_refused_set_up_is_the_operators_to_fix(error: Exception, problem: str) -> None:
    outcome = classify(error)
    assert isinstance(outcome, OperatorActionError)
    assert outcome.problem.key == problem
    assert outcome.problem.fix


def test_no_smtputf8_for_a_non_ascii_sender_holds_emails_for_the_operator() -> None:
    error = aiosmtplib.SMTPNotSupported("SMTPUTF8 is not supported by this server")
    outcome = classify(error, sender_is_ascii=False)
    assert isinstance(outcome, OperatorActionError)
    assert outcome.problem.key == problems.SMTPUTF8_UNSUPPORTED


def test_no_smtputf8_for_one_customers_address_fails_only_that_email() -> None:
    error = aiosmtplib.SMTPNotSupported("SMTPUTF8 is not supported by this server")
    assert isinstance(classify(error, sender_is_ascii=True), PermanentSendError)
