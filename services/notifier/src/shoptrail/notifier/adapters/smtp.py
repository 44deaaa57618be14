"""Sending through an SMTP server with aiosmtplib, and telling bounces from hiccups."""

from __future__ import annotations

import logging
from email.message import EmailMessage

import aiosmtplib
from pydantic import SecretStr

from shoptrail.notifier.config import SmtpSecurity
from shoptrail.notifier.service_layer.ports import Mailer, PermanentSendError, TemporarySendError

log = logging.getLogger(__name__)


def classify(error: Exception) -> TemporarySendError | PermanentSendError:
    """Only a 5xx refusal of the recipient or the message is a bounce.

    Everything else — 4xx replies, connection trouble, timeouts, a refused
    login or sender — is ours or the network's, not the customer's, and is
    retried: suppressing a customer for our misconfiguration would be wrong.
    """
    if isinstance(error, aiosmtplib.SMTPRecipientsRefused):
        codes = [refusal.code for refusal in error.recipients]
        if codes and all(500 <= code < 600 for code in codes):
            reasons = "; ".join(f"{r.code} {r.message}" for r in error.recipients)
            return PermanentSendError(reasons)
        return TemporarySendError(str(error))
    if isinstance(error, aiosmtplib.SMTPRecipientRefused | aiosmtplib.SMTPDataError) and (
        500 <= error.code < 600
    ):
        return PermanentSendError(f"{error.code} {error.message}")
    if isinstance(error, aiosmtplib.SMTPResponseException):
        return TemporarySendError(f"{error.code} {error.message}")
    return TemporarySendError(f"{type(error).__name__}: {error}")


class SmtpMailer(Mailer):
    """One connection per message: simple, and fine at a small shop's volume."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        security: SmtpSecurity,
        username: str | None = None,
        password: SecretStr | None = None,
        timeout: float = 30.0,
        validate_certs: bool = True,
    ) -> None:
        self._host = host
        self._port = port
        self._security = security
        self._username = username
        self._password = password
        self._timeout = timeout
        self._validate_certs = validate_certs

    async def send(self, message: EmailMessage) -> None:
        try:
            await aiosmtplib.send(
                message,
                hostname=self._host,
                port=self._port,
                use_tls=self._security == "tls",
                start_tls=self._security == "starttls",
                username=self._username,
                password=self._password.get_secret_value() if self._password else None,
                timeout=self._timeout,
                validate_certs=self._validate_certs,
            )
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as error:
            outcome = classify(error)
            log.warning(
                "SMTP send failed",
                extra={
                    "message_id": message["Message-ID"],
                    "permanent": isinstance(outcome, PermanentSendError),
                    "error_type": type(error).__name__,
                },
            )
            raise outcome from error
