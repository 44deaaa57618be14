"""The services the admin talks to, as small interfaces (adapters implement them over HTTP)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from shoptrail.admin_ui.domain.feed_query import FeedQuery
from shoptrail.admin_ui.domain.models import (
    AlertSettings,
    Entry,
    EntryDetail,
    FeedChanges,
    FeedPage,
    LiveToken,
    Note,
    Order,
    OrdersPage,
    ShopSettings,
)
from shoptrail.admin_ui.domain.orders_query import OrdersQuery
from shoptrail.kit.jobs import JobInfo


class UpstreamError(Exception):
    """A service behind the admin did not answer, or answered something unexpected."""

    def __init__(self, service: str, detail: str) -> None:
        super().__init__(f"{service}: {detail}")
        self.service = service
        self.detail = detail


class InvalidInputError(Exception):
    """The service refused what the admin passed on from the browser (a 400): the
    request was malformed (a cursor not ours, text a store cannot hold)."""


class NotFoundError(Exception):
    """The thing asked for does not exist (a 404 from the service)."""


class RefusedError(Exception):
    """The service understood and said no (a 409 or 422), with its reason."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class ActionOutcome:
    """What happened when the owner asked fulfilment to retry something."""

    status: Literal["queued", "already_queued", "refused"]
    detail: str

    @property
    def message(self) -> str:
        if self.status == "queued":
            return "Retry queued"
        if self.status == "already_queued":
            return "Already queued"
        return f"Not retried: {self.detail}"


class ActivityPort(Protocol):
    async def feed(self, query: FeedQuery, *, limit: int) -> FeedPage: ...
    async def feed_changes(self, query: FeedQuery, *, since: int) -> FeedChanges: ...
    async def attention_count(self) -> int: ...
    async def entry(self, entry_id: int) -> Entry: ...
    async def resolve(self, entry_id: int, *, note: str | None, dismiss: bool) -> Entry: ...
    async def resolve_matching(self, query: FeedQuery, *, note: str | None) -> int: ...
    async def resolve_order(self, order_id: str, *, note: str | None) -> int: ...
    async def orders(self, query: OrdersQuery, *, limit: int) -> OrdersPage: ...
    def feed_csv(self, query: FeedQuery) -> AsyncIterator[bytes]: ...
    async def order(self, order_id: str) -> Order: ...
    async def timeline(self, order_id: str) -> Sequence[Entry]: ...
    async def entry_detail(self, entry_id: int) -> EntryDetail: ...
    async def add_note(self, order_id: str, *, author: str, text: str, note_id: str) -> Note: ...
    async def live_token(self, subject: str, *, session: str) -> LiveToken: ...
    async def start_session(self, user: str, *, lifetime_s: int, idle_s: int) -> str: ...
    async def session_user(self, session: str) -> str | None: ...
    async def end_session(self, session: str) -> None: ...
    async def answers(self, timeout: float = 2.0) -> bool: ...


class FulfilmentPort(Protocol):
    async def retry_submission(self, order_id: str) -> ActionOutcome: ...
    async def retry_sync(self, provider: str) -> ActionOutcome: ...


class JobsPort(Protocol):
    """One service's background jobs."""

    service: str

    async def jobs(self) -> list[JobInfo]: ...
    async def retry(self, job_id: int) -> ActionOutcome: ...


class NotifierPort(Protocol):
    async def read_settings(self) -> ShopSettings: ...
    async def write_settings(self, settings: ShopSettings) -> ShopSettings: ...
    async def read_alert_settings(self) -> AlertSettings: ...
    async def write_alert_settings(self, wanted: dict[str, Any]) -> AlertSettings: ...
