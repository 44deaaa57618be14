"""The ports the use cases talk through; adapters implement them, tests fake them."""

from __future__ import annotations

import abc
from collections.abc import Collection
from datetime import datetime
from email.message import EmailMessage
from types import TracebackType
from typing import Any, Self
from uuid import UUID

from shoptrail.events import Event
from shoptrail.notifier.domain.model import (
    AbandonedCart,
    CustomerOrder,
    EmailStatus,
    OutgoingEmail,
    Sender,
    ShopSettings,
)
from shoptrail.notifier.domain.problems import OpenProblem, OperatorProblem


class TemporarySendError(Exception):
    """The email could not be sent now; trying again later may work."""


class PermanentSendError(Exception):
    """The SMTP server refused the recipient or message for good (a bounce)."""


class OperatorActionError(Exception):
    """The mail server refuses how we are set up (sender, login, TLS): no email can go.

    Not retried as if it would pass, and not the customer's fault: the email is
    held and the operator told once what to fix.
    """

    def __init__(self, problem: OperatorProblem) -> None:
        super().__init__(problem.detail or problem.summary)
        self.problem = problem


class Clock(abc.ABC):
    """Time as the use cases see it; tests move it forward instead of sleeping."""

    @abc.abstractmethod
    def now(self) -> datetime: ...


class Mailer(abc.ABC):
    """Hands a message to the mail server."""

    @abc.abstractmethod
    async def send(self, message: EmailMessage) -> None:
        """Return once the server accepted; raise Temporary-, PermanentSendError or
        OperatorActionError."""


class AcceptedJournal(abc.ABC):
    """A local, durable note of each message the mail server accepted.

    Written right after the server's acceptance and before the database, so an
    email whose `sent` record was lost in a crash can still be settled as sent.
    """

    @abc.abstractmethod
    async def record(self, email_id: UUID, message_id: str, *, at: datetime) -> None:
        """Append one line and make it durable (fsync) before returning."""

    @abc.abstractmethod
    async def accepted(self, email_ids: Collection[UUID]) -> dict[UUID, str]:
        """The Message-IDs of those of `email_ids` the journal holds."""


class Composer(abc.ABC):
    """Renders an outgoing email into a MIME message."""

    @abc.abstractmethod
    def compose(
        self, email: OutgoingEmail, *, sender: Sender, recipient: str, now: datetime
    ) -> EmailMessage: ...


class EmailQueue(abc.ABC):
    """Schedules a send attempt for a recorded email (at most one waiting per email)."""

    @abc.abstractmethod
    async def enqueue(self, email_id: UUID) -> None: ...


class ShopSettingsRepository(abc.ABC):
    @abc.abstractmethod
    async def get(self) -> ShopSettings: ...

    @abc.abstractmethod
    async def save(self, settings: ShopSettings, *, now: datetime) -> None: ...


class EmailRepository(abc.ABC):
    @abc.abstractmethod
    async def add(self, email: OutgoingEmail, *, now: datetime) -> EmailStatus:
        """Record `email` unless its id is known; the status of the stored one."""

    @abc.abstractmethod
    async def claim(self, email_id: UUID, *, now: datetime) -> OutgoingEmail | None:
        """Pending → sending (attempts + 1); None if it is not pending."""

    @abc.abstractmethod
    async def finish(
        self, email_id: UUID, status: EmailStatus, *, now: datetime, error: str | None = None
    ) -> OutgoingEmail | None:
        """Move a pending or sending email to `status`; None if it was neither."""

    @abc.abstractmethod
    async def hold(
        self, email_id: UUID, *, from_status: EmailStatus, now: datetime, reason: str
    ) -> OutgoingEmail | None:
        """Move the email from `from_status` to held; None if it was not in `from_status`."""

    @abc.abstractmethod
    async def release_held(self, *, now: datetime, limit: int | None = None) -> list[UUID]:
        """Held → pending, oldest first (at most `limit`); the ids released."""

    @abc.abstractmethod
    async def stuck(self, *, claimed_before: datetime) -> list[OutgoingEmail]: ...

    @abc.abstractmethod
    async def pending(self, *, created_before: datetime) -> list[UUID]: ...

    @abc.abstractmethod
    async def prune(self, *, kind: str, created_before: datetime) -> int: ...


class OrderRepository(abc.ABC):
    @abc.abstractmethod
    async def add(self, order: CustomerOrder) -> None: ...

    @abc.abstractmethod
    async def get(self, order_id: str) -> CustomerOrder | None: ...

    @abc.abstractmethod
    async def paid_since(self, email: str, since: datetime) -> bool: ...


class CartRepository(abc.ABC):
    @abc.abstractmethod
    async def add(self, cart: AbandonedCart, *, now: datetime) -> bool:
        """Record a cart; False if its checkout session was already recorded."""

    @abc.abstractmethod
    async def due(self, *, now: datetime, limit: int) -> list[AbandonedCart]:
        """Carts whose email is due, not yet emailed or closed, locked for this transaction."""

    @abc.abstractmethod
    async def mark_emailed(self, cart_id: str, *, email_id: UUID, now: datetime) -> None: ...

    @abc.abstractmethod
    async def close(self, cart_id: str, reason: str, *, now: datetime) -> None: ...

    @abc.abstractmethod
    async def emailed_unrecovered(self, email: str, *, before: datetime) -> list[AbandonedCart]: ...

    @abc.abstractmethod
    async def mark_recovered(self, cart_id: str, order_id: str) -> None: ...

    @abc.abstractmethod
    async def prune(self, *, created_before: datetime) -> int: ...


class SuppressionRepository(abc.ABC):
    @abc.abstractmethod
    async def add(self, email: str, reason: str, *, now: datetime) -> bool:
        """Suppress `email`; False if it already was."""

    @abc.abstractmethod
    async def contains(self, email: str) -> bool: ...


class ProblemRepository(abc.ABC):
    """Operator problems open now (at most one row per problem key)."""

    @abc.abstractmethod
    async def open(self, problem: OperatorProblem, *, now: datetime) -> bool:
        """Record `problem` as open and holding emails; True only if it was not open before."""

    @abc.abstractmethod
    async def all(self) -> list[OpenProblem]: ...

    @abc.abstractmethod
    async def allow_trial(self, *, now: datetime) -> None:
        """Let the next sends try again (a probe, or new settings) without closing anything."""

    @abc.abstractmethod
    async def clear(self) -> list[OperatorProblem]:
        """Close every open problem; the ones closed."""


class UnitOfWork(abc.ABC):
    """One transaction over the repositories and the outbox.

    `async with uow:` begins; `commit()` makes it stick; leaving without a
    commit rolls back. A unit of work can be entered again afterwards.
    """

    settings: ShopSettingsRepository
    emails: EmailRepository
    orders: OrderRepository
    carts: CartRepository
    suppressions: SuppressionRepository
    problems: ProblemRepository

    @abc.abstractmethod
    async def emit(self, event: Event[Any]) -> None:
        """Stage an event for the notifier topic, committed with everything else."""

    @abc.abstractmethod
    async def commit(self) -> None: ...

    @abc.abstractmethod
    async def _begin(self) -> None: ...

    @abc.abstractmethod
    async def _end(self) -> None:
        """Roll back anything not committed and release the connection."""

    async def __aenter__(self) -> Self:
        await self._begin()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._end()
