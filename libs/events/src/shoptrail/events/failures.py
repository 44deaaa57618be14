"""The failure model every consumer, relay and worker shares, decided once.

A failure is one of three kinds:

* **transient**: something we depend on (Kafka, PostgreSQL, SMTP, a provider)
  is away, slow or restarting. The same work will succeed later: retry with
  capped, jittered backoff for as long as it takes, never losing the offset,
  and say so in metrics and readiness.
* **permanent**: this input can never succeed (it breaks the contract, or the
  store refuses its data). Retrying is pointless: dead-letter it with its
  reason, raise one visible entry and move on.
* **unknown**: anything else (most likely our bug). Retried a few times in
  case it was a hiccup after all, then treated as permanent, so one message
  never holds a partition.

`describe()` turns any exception into one line fit for a log or the shop's
feed: no SQL, no bound parameters, no payloads, no email addresses.
"""

from __future__ import annotations

import asyncio
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum

from aiokafka import errors as kafka_errors
from pydantic import ValidationError
from sqlalchemy import exc as sa_exc


class TransientError(Exception):
    """Raise (or subclass) to say: what this needs is away now; the same call can succeed later."""


class PermanentError(Exception):
    """Raise (or subclass) to say: this input can never succeed; set it aside."""


class FailureKind(StrEnum):
    TRANSIENT = "transient"
    PERMANENT = "permanent"
    UNKNOWN = "unknown"


# SQLSTATE classes (the first two characters of the code).
_TRANSIENT_SQLSTATE = {
    "08",  # connection exception
    "40",  # transaction rollback: serialization failure, deadlock
    "53",  # insufficient resources: disk full, too many connections
    "55",  # object not in prerequisite state: lock not available
    "57",  # operator intervention: shutdown, cannot connect now, query cancelled
    "58",  # system error: I/O
    "42",  # the schema is not what this code expects: a migration has not run yet
    "3D",  # the database does not exist (yet)
}
_PERMANENT_SQLSTATE = {
    "22",  # data exception: bad encoding, untranslatable character, out of range
    "23",  # integrity constraint violation
}

_SIZE_ERRORS: tuple[type[BaseException], ...] = (
    kafka_errors.MessageSizeTooLargeError,
    kafka_errors.RecordTooLargeError,
    kafka_errors.RecordListTooLargeError,
)


def _chain(error: BaseException) -> Iterator[BaseException]:
    """The error, what it wraps (SQLAlchemy's `orig`) and what caused it, each once."""
    seen: set[int] = set()
    pending = [error]
    while pending:
        current = pending.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        for linked in (
            getattr(current, "orig", None),
            current.__cause__,
            current.__context__,
        ):
            if isinstance(linked, BaseException):
                pending.append(linked)


def sqlstate(error: BaseException) -> str | None:
    """The PostgreSQL SQLSTATE somewhere in the error's chain, if any."""
    for link in _chain(error):
        code = getattr(link, "sqlstate", None) or getattr(link, "pgcode", None)
        if isinstance(code, str) and len(code) == 5:
            return code
    return None


def is_size_error(error: BaseException) -> bool:
    """Kafka refused a record for its size."""
    return any(isinstance(link, _SIZE_ERRORS) for link in _chain(error))


def classify(error: BaseException) -> FailureKind:
    """Transient, permanent or unknown (see the module docstring)."""
    links = list(_chain(error))
    if any(isinstance(link, PermanentError) for link in links):
        return FailureKind.PERMANENT
    if any(isinstance(link, TransientError) for link in links):
        return FailureKind.TRANSIENT
    code = sqlstate(error)
    if code is not None:
        if code[:2] in _PERMANENT_SQLSTATE:
            return FailureKind.PERMANENT
        if code[:2] in _TRANSIENT_SQLSTATE:
            return FailureKind.TRANSIENT
    for link in links:
        if isinstance(link, _SIZE_ERRORS):
            return FailureKind.PERMANENT
        if isinstance(link, ValidationError | UnicodeError):
            return FailureKind.PERMANENT
        if isinstance(link, kafka_errors.KafkaError):
            return FailureKind.TRANSIENT  # a broker away, a leader moving, a producer fenced
        if isinstance(link, OSError | TimeoutError | ConnectionError):
            return FailureKind.TRANSIENT
        if isinstance(link, sa_exc.DBAPIError) and link.connection_invalidated:
            return FailureKind.TRANSIENT
        if isinstance(link, sa_exc.TimeoutError | sa_exc.InterfaceError | sa_exc.OperationalError):
            return FailureKind.TRANSIENT  # the pool ran dry, the connection went away
        if _is_known_transient_by_name(link):
            return FailureKind.TRANSIENT
    return FailureKind.UNKNOWN


# Clients this library does not depend on, recognised by name rather than imported.
_TRANSIENT_NAMES = {
    ("asyncpg", "InterfaceError"),  # connection closed or in a bad state
    ("asyncpg", "ConnectionDoesNotExistError"),
    ("psycopg", "OperationalError"),
    ("psycopg_pool", "PoolTimeout"),
    ("psycopg_pool", "PoolClosed"),
    ("procrastinate", "ConnectorException"),
    ("httpx", "TransportError"),
    ("aiosmtplib", "SMTPConnectError"),
    ("aiosmtplib", "SMTPServerDisconnected"),
    ("aiosmtplib", "SMTPTimeoutError"),
}


def _is_known_transient_by_name(error: BaseException) -> bool:
    for cls in type(error).__mro__:
        package = cls.__module__.split(".", 1)[0]
        if (package, cls.__name__) in _TRANSIENT_NAMES:
            return True
    return False


_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


def mask_emails(text: str) -> str:
    """`text` with every email address replaced by `<email>`: for words that came from
    outside (a provider's or a mail server's) and go where customers' data must not."""
    return _EMAIL.sub("<email>", text)


_QUOTED = re.compile(r"\"[^\"]*\"|'[^']*'")
_LIMIT = 300


def describe(error: BaseException) -> str:
    """One line naming the failure, safe to log and to show: no SQL, parameters or payloads.

    SQLAlchemy's message carries the statement and its bound values, and
    PostgreSQL's detail can quote the data: only the innermost driver error's
    first line is kept. pydantic's carries the input: only locations and
    messages are kept. Other libraries' messages may quote a value (asyncpg's
    "invalid input for query argument $1: '…'", a KeyError's key): quoted
    text is elided; our own errors (shoptrail.*) are written not to carry
    data and keep theirs. Email addresses are masked whatever the source.
    """
    root = error
    if isinstance(error, sa_exc.StatementError) and isinstance(error.orig, BaseException):
        root = error.orig
        cause = root.__cause__
        if cause is not None and type(cause).__module__.startswith("asyncpg"):
            root = cause  # the asyncpg error itself, not SQLAlchemy's adapter around it
    if isinstance(root, ValidationError):
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '(root)'}: {e['msg']}"
            for e in root.errors(include_url=False, include_input=False)[:3]
        )
        text = f"invalid {root.title}: {problems}"
    else:
        message = str(root).strip().splitlines()[0] if str(root).strip() else ""
        if not type(root).__module__.startswith("shoptrail."):
            message = _QUOTED.sub("…", message)
        text = f"{type(root).__name__}: {message}" if message else type(root).__name__
    text = mask_emails(text.replace("\x00", "\\x00"))
    return text if len(text) <= _LIMIT else text[: _LIMIT - 1] + "…"


@dataclass(frozen=True)
class Backoff:
    """Capped exponential backoff with jitter: attempt 1 waits about `base`, then doubling.

    The wait is drawn from [d/2, d] (d = min(base · 2^(attempt-1), cap)), so
    many consumers failing together do not retry in lockstep, and a wait is
    never shorter than half its step.
    """

    base: float = 0.5
    cap: float = 30.0

    def delay(self, attempt: int) -> float:
        step = min(self.base * 2 ** max(attempt - 1, 0), self.cap)
        return random.uniform(step / 2, step)

    async def wait(self, attempt: int) -> float:
        """Sleep for attempt `attempt`'s delay; the delay slept."""
        seconds = self.delay(attempt)
        await asyncio.sleep(seconds)
        return seconds
