"""Sending through an SMTP server with aiosmtplib, and telling bounces, hiccups and
the operator's problems apart."""

from __future__ import annotations

import logging
import ssl
from collections.abc import Iterator
from email.message import EmailMessage

import aiosmtplib
from opentelemetry.trace import SpanKind
from pydantic import SecretStr

from shoptrail.events.tracing import current_span
from shoptrail.notifier.config import SmtpSecurity
from shoptrail.notifier.domain import problems
from shoptrail.notifier.service_layer.ports import (
    Mailer,
    OperatorActionError,
    PermanentSendError,
    TemporarySendError,
)

log = logging.getLogger(__name__)

SendFailure = TemporarySendError | PermanentSendError | OperatorActionError

# aiosmtplib raises a bare SMTPException for these; its words are all there is to go on.
_TLS_WORDS = ("STARTTLS extension not supported", "already using TLS")
_AUTH_WORDS = ("AUTH extension is not supported",)


def _links(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _tls_trouble(error: BaseException) -> ssl.SSLError | None:
    """An SSL error that says the two ends disagree (not a connection cut mid-handshake)."""
    for link in _links(error):
        if isinstance(link, ssl.SSLError) and not isinstance(
            link, ssl.SSLEOFError | ssl.SSLZeroReturnError
        ):
            return link
    return None


def _operator_problem(error: Exception) -> OperatorActionError | None:
    """The failures only the operator can fix (the email is held, the problem said once)."""
    if isinstance(error, aiosmtplib.SMTPSenderRefused) and 500 <= error.code < 600:
        detail = f"{error.code} {error.message}"
        if error.code == 530:  # "Must issue a STARTTLS command first" / "Authentication required"
            tls = "tls" in error.message.lower()
            return OperatorActionError(
                problems.tls_mismatch(detail) if tls else problems.auth_refused(detail)
            )
        return OperatorActionError(problems.sender_refused(detail))
    if isinstance(error, aiosmtplib.SMTPAuthenticationError) and 500 <= error.code < 600:
        return OperatorActionError(problems.auth_refused(f"{error.code} {error.message}"))
    if isinstance(error, aiosmtplib.SMTPNotSupported):  # the only feature we may need: SMTPUTF8
        return OperatorActionError(problems.smtputf8_unsupported(str(error)))
    if (ssl_error := _tls_trouble(error)) is not None:
        detail = f"{type(ssl_error).__name__}: {ssl_error}"
        return OperatorActionError(problems.tls_mismatch(detail))
    if type(error) is aiosmtplib.SMTPException:
        if any(words in str(error) for words in _TLS_WORDS):
            return OperatorActionError(problems.tls_mismatch(str(error)))
        if any(words in str(error) for words in _AUTH_WORDS):
            return OperatorActionError(problems.auth_refused(str(error)))
    return None


def classify(error: Exception, *, sender_is_ascii: bool = True) -> SendFailure:
    """Whose it is to fix: the customer's address (a bounce), the operator (held), or nobody.

    Only a 5xx refusal of the recipient or the message is a bounce. A 5xx
    refusal of the sender or the login, a server without the SMTPUTF8 the
    sender address needs, and a TLS disagreement are the operator's: retrying
    would not help, and suppressing a customer for our set-up would be wrong.
    Everything else — 4xx replies, connection trouble, timeouts — is retried.
    """
    if isinstance(error, aiosmtplib.SMTPNotSupported) and sender_is_ascii:
        # Then the customer's address needs SMTPUTF8: this one email cannot go, the rest can.
        return PermanentSendError(
            f"the mail server cannot deliver to a non-ASCII address (no SMTPUTF8): {error}"
        )
    if (operator := _operator_problem(error)) is not None:
        return operator
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
        """Send one message; a client span of the current trace (the job's) says how it went."""
        with current_span(
            "smtp send",
            kind=SpanKind.CLIENT,
            attributes={"server.address": self._host, "server.port": self._port},
        ):
            await self._send(message)

    async def _send(self, message: EmailMessage) -> None:
        sender = getattr(message["From"], "addresses", ())
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
            outcome = classify(error, sender_is_ascii=all(a.addr_spec.isascii() for a in sender))
            log.warning(
                "SMTP send failed",
                extra={
                    "message_id": message["Message-ID"],
                    "permanent": isinstance(outcome, PermanentSendError),
                    "operator_problem": getattr(getattr(outcome, "problem", None), "key", None),
                    "error_type": type(error).__name__,
                },
            )
            raise outcome from error
