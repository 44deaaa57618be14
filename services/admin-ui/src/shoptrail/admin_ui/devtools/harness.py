"""Handles the tests hold: the activity service behind the admin, a logged-in client, stories."""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from shoptrail.admin_ui.config import DEV_PASSWORD
from shoptrail.events import Event, EventData, new_event
from shoptrail.events.fulfilment import (
    OrderInProduction,
    OrderSubmissionFailed,
    OrderSubmissionRetried,
    OrderSubmitted,
    SyncCompleted,
    SyncFailed,
)
from shoptrail.events.ingest import OrderCreated
from shoptrail.events.notifier import OrderConfirmationSent

ServeAdmin = Callable[..., Awaitable[str]]
"""`await serve_admin(activity, **settings)` starts the admin UI in front of it; its URL."""

CSRF_META = re.compile(r'name="csrf-token" content="([^"]+)"')


class ActivityHandle(Protocol):
    """The running activity service (the tests' conftest starts it)."""

    url: str
    engine: AsyncEngine  # its database

    async def log(self, *events: Event[EventData]) -> list[int]:
        """Write events into the log as its consumer would; returns the new entry ids."""

    async def publish(self, *events: Event[EventData]) -> None:
        """Publish events to Kafka, to the topics this activity service consumes."""

    async def api(self, method: str, path: str, **kwargs: Any) -> Any:
        """Call its API with the service token; returns the JSON body of a 2xx."""


async def log_in(
    http: httpx.AsyncClient, username: str = "admin", password: str = DEV_PASSWORD
) -> str:
    """Log in through the form, as a browser would; returns the new session's CSRF token."""
    form = await http.get("/admin/login")
    token = CSRF_META.search(form.text)
    assert token, form.text
    response = await http.post(
        "/admin/login",
        data={"username": username, "password": password, "csrf_token": token.group(1)},
    )
    assert response.status_code == 303, response.text
    page = await http.get(response.headers["location"])
    fresh = CSRF_META.search(page.text)
    assert fresh, page.text
    return fresh.group(1)


@dataclass
class AdminClient:
    """An HTTP client logged in to the admin UI, with its session's CSRF token."""

    http: httpx.AsyncClient
    csrf: str

    async def post(
        self, path: str, data: dict[str, Any] | None = None, **kwargs: Any
    ) -> httpx.Response:
        """POST a form with the CSRF token, as the page's forms do."""
        return await self.http.post(path, data={"csrf_token": self.csrf, **(data or {})}, **kwargs)


class Story:
    """Events of the shop's life, timed in minutes from `start`, for seeding the log."""

    def __init__(self, start: datetime) -> None:
        self.start = start

    def at(self, minutes: float, data: EventData) -> Event[EventData]:
        return new_event(data, source="/tests", time=self.start + timedelta(minutes=minutes))

    def order_with_a_failed_submission(self, order_id: str, number: str) -> list[Event[EventData]]:
        """Placed, confirmed, submission failed, retried, submitted, in production."""
        created = OrderCreated.example().model_copy(
            update={"order_id": order_id, "order_number": number}
        )
        confirmed = OrderConfirmationSent.example().model_copy(update={"order_id": order_id})
        return [
            self.at(0, created),
            self.at(1, confirmed),
            self.at(2, self.submission_failed(order_id, "variant out of stock")),
            self.at(
                7,
                OrderSubmissionRetried(
                    order_id=order_id, provider="Printify", attempt=2, max_attempts=3
                ),
            ),
            self.at(
                7.5,
                OrderSubmitted(
                    order_id=order_id, provider="Printify", provider_order_id="PFY-78299"
                ),
            ),
            self.at(8, OrderInProduction(order_id=order_id, provider="Printify")),
        ]

    @staticmethod
    def submission_failed(order_id: str, reason: str) -> OrderSubmissionFailed:
        return OrderSubmissionFailed(
            order_id=order_id, provider="Printify", reason=reason, attempt=1, max_attempts=3
        )

    @staticmethod
    def sync_failed(reason: str = "API rate limit exceeded") -> SyncFailed:
        return SyncFailed(
            sync_id=f"sync_{uuid.uuid4().hex[:6]}", provider="Printify", reason=reason
        )

    @staticmethod
    def sync_completed(total: int) -> SyncCompleted:
        return SyncCompleted(
            sync_id=f"sync_{uuid.uuid4().hex[:6]}", provider="Printify", total=total, updated=1
        )
