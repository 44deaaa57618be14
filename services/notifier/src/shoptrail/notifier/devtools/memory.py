"""In-memory adapters that subclass the ports: use-case tests without I/O."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import replace
from datetime import datetime
from email.message import EmailMessage
from typing import Any
from uuid import UUID

from shoptrail.events import Event
from shoptrail.notifier.domain.model import (
    AbandonedCart,
    CustomerOrder,
    EmailStatus,
    OutgoingEmail,
    ShopSettings,
)
from shoptrail.notifier.domain.problems import OpenProblem, OperatorProblem
from shoptrail.notifier.service_layer import ports

_OPEN = (EmailStatus.PENDING, EmailStatus.SENDING)


class MemorySettings(ports.ShopSettingsRepository):
    def __init__(self, settings: ShopSettings) -> None:
        self.current = settings

    async def get(self) -> ShopSettings:
        return self.current

    async def save(self, settings: ShopSettings, *, now: datetime) -> None:
        self.current = settings


class MemoryEmails(ports.EmailRepository):
    def __init__(self) -> None:
        self.rows: dict[UUID, OutgoingEmail] = {}
        self.claimed_at: dict[UUID, datetime] = {}

    def _move(
        self, email_id: UUID, allowed: Collection[EmailStatus], to: EmailStatus
    ) -> OutgoingEmail | None:
        email = self.rows.get(email_id)
        if email is None or email.status not in allowed:
            return None
        self.rows[email_id] = replace(email, status=to)
        return self.rows[email_id]

    async def add(self, email: OutgoingEmail, *, now: datetime) -> EmailStatus:
        return self.rows.setdefault(email.id, email).status

    async def claim(self, email_id: UUID, *, now: datetime) -> OutgoingEmail | None:
        email = self.rows.get(email_id)
        if email is None or email.status is not EmailStatus.PENDING:
            return None
        self.rows[email_id] = replace(
            email, status=EmailStatus.SENDING, attempts=email.attempts + 1
        )
        self.claimed_at[email_id] = now
        return self.rows[email_id]

    async def finish(
        self, email_id: UUID, status: EmailStatus, *, now: datetime, error: str | None = None
    ) -> OutgoingEmail | None:
        return self._move(email_id, _OPEN, status)

    async def hold(
        self, email_id: UUID, *, from_status: EmailStatus, now: datetime, reason: str
    ) -> OutgoingEmail | None:
        return self._move(email_id, (from_status,), EmailStatus.HELD)

    async def release_held(self, *, now: datetime, limit: int | None = None) -> list[UUID]:
        held = [i for i, e in self.rows.items() if e.status is EmailStatus.HELD][:limit]
        for email_id in held:
            self._move(email_id, (EmailStatus.HELD,), EmailStatus.PENDING)
        return held

    async def stuck(self, *, claimed_before: datetime) -> list[OutgoingEmail]:
        return [
            email
            for email_id, email in self.rows.items()
            if email.status is EmailStatus.SENDING and self.claimed_at[email_id] < claimed_before
        ]

    async def pending(self, *, created_before: datetime) -> list[UUID]:
        return [i for i, e in self.rows.items() if e.status is EmailStatus.PENDING]

    async def prune(self, *, kind: str, created_before: datetime) -> int:
        return 0

    def with_status(self, status: EmailStatus) -> list[UUID]:
        return [i for i, e in self.rows.items() if e.status is status]


class MemoryOrders(ports.OrderRepository):
    def __init__(self) -> None:
        self.rows: dict[str, CustomerOrder] = {}

    async def add(self, order: CustomerOrder) -> None:
        self.rows.setdefault(order.order_id, order)

    async def get(self, order_id: str) -> CustomerOrder | None:
        return self.rows.get(order_id)

    async def paid_since(self, email: str, since: datetime) -> bool:
        return any(o.email == email and o.placed_at >= since for o in self.rows.values())


class MemoryCarts(ports.CartRepository):
    async def add(self, cart: AbandonedCart, *, now: datetime) -> bool:
        return True

    async def due(self, *, now: datetime, limit: int) -> list[AbandonedCart]:
        return []

    async def mark_emailed(self, cart_id: str, *, email_id: UUID, now: datetime) -> None: ...

    async def close(self, cart_id: str, reason: str, *, now: datetime) -> None: ...

    async def emailed_unrecovered(self, email: str, *, before: datetime) -> list[AbandonedCart]:
        return []

    async def mark_recovered(self, cart_id: str, order_id: str) -> None: ...

    async def prune(self, *, created_before: datetime) -> int:
        return 0


class MemorySuppressions(ports.SuppressionRepository):
    def __init__(self) -> None:
        self.addresses: set[str] = set()

    async def add(self, email: str, reason: str, *, now: datetime) -> bool:
        new = email not in self.addresses
        self.addresses.add(email)
        return new

    async def contains(self, email: str) -> bool:
        return email in self.addresses


class MemoryProblems(ports.ProblemRepository):
    def __init__(self) -> None:
        self.rows: dict[str, OpenProblem] = {}

    async def open(self, problem: OperatorProblem, *, now: datetime) -> bool:
        known = self.rows.get(problem.key)
        if known is None:
            self.rows[problem.key] = OpenProblem(problem, now, now, holding=True)
            return True
        self.rows[problem.key] = replace(known, last_seen_at=now, holding=True)
        return False

    async def all(self) -> list[OpenProblem]:
        return list(self.rows.values())

    async def allow_trial(self, *, now: datetime) -> None:
        for key, known in self.rows.items():
            self.rows[key] = replace(known, holding=False, trial_at=now)

    async def clear(self) -> list[OperatorProblem]:
        cleared = [known.problem for known in self.rows.values()]
        self.rows.clear()
        return cleared


class MemoryUnitOfWork(ports.UnitOfWork):
    """Keeps state across transactions; events count only once committed.

    (State changes are not rolled back: use cases here commit or raise before changing any.)
    """

    settings: MemorySettings
    emails: MemoryEmails
    orders: MemoryOrders
    suppressions: MemorySuppressions
    problems: MemoryProblems

    def __init__(self, settings: ShopSettings) -> None:
        self.settings = MemorySettings(settings)
        self.emails = MemoryEmails()
        self.orders = MemoryOrders()
        self.carts = MemoryCarts()
        self.suppressions = MemorySuppressions()
        self.problems = MemoryProblems()
        self.published: list[Event[Any]] = []
        self._staged: list[Event[Any]] = []

    async def emit(self, event: Event[Any]) -> None:
        self._staged.append(event)

    async def commit(self) -> None:
        self.published += self._staged
        self._staged = []

    async def _begin(self) -> None:
        self._staged = []

    async def _end(self) -> None:
        self._staged = []

    def published_types(self) -> list[str]:
        return [event.type for event in self.published]


class MemoryMailer(ports.Mailer):
    """Accepts every message, unless told to fail with `error` (for the next `failures` sends)."""

    def __init__(self, error: Exception | None = None, *, failures: int | None = None) -> None:
        self.error = error
        self.failures = failures
        self.attempts = 0
        self.sent: list[EmailMessage] = []

    async def send(self, message: EmailMessage) -> None:
        self.attempts += 1
        if self.error is not None and (self.failures is None or self.failures > 0):
            if self.failures is not None:
                self.failures -= 1
            raise self.error
        self.sent.append(message)


class MemoryQueue(ports.EmailQueue):
    def __init__(self) -> None:
        self.enqueued: list[UUID] = []

    async def enqueue(self, email_id: UUID) -> None:
        self.enqueued.append(email_id)


class MemoryJournal(ports.AcceptedJournal):
    def __init__(self) -> None:
        self.lines: dict[UUID, str] = {}

    async def record(self, email_id: UUID, message_id: str, *, at: datetime) -> None:
        self.lines[email_id] = message_id

    async def accepted(self, email_ids: Collection[UUID]) -> dict[UUID, str]:
        return {i: self.lines[i] for i in email_ids if i in self.lines}
