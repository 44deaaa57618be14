"""Facts any service may publish about itself: exhausted jobs, dead letters, operator problems."""

from __future__ import annotations

from typing import ClassVar, Self

from pydantic import Field

from shoptrail.events.base import Category, EventData, Level
from shoptrail.events.hygiene import FreeText, Identifier
from shoptrail.events.registry import REGISTRY


@REGISTRY.register
class JobExhausted(EventData):
    """A background job gave up after its last retry."""

    TYPE: ClassVar[str] = "job.exhausted"
    LEVEL: ClassVar[Level] = Level.ERROR
    CATEGORY: ClassVar[Category] = Category.SYSTEM
    KEY: ClassVar[tuple[str, ...]] = ("order_id", "job_id")

    job_name: str
    job_id: Identifier
    attempts: int = Field(ge=1)
    last_error: FreeText
    order_id: Identifier | None = None

    def subject(self) -> str | None:
        return self.order_id

    def render(self) -> str:
        return f"Job {self.job_name} gave up after {self.attempts} attempts: {self.last_error}"

    @classmethod
    def example(cls) -> Self:
        return cls(
            job_name="submit_order",
            job_id="4711",
            attempts=3,
            last_error="Printify API timed out",
            order_id="ord_01J9Z8K4",
        )


@REGISTRY.register
class EventDeadLettered(EventData):
    """A message could not be read or processed and was moved to the dead-letter topic.

    `consumer` is the consumer group that gave up on it (None: the activity log's
    own reader); `order_id` puts the entry on the order's timeline when the
    message was keyed by one.
    """

    TYPE: ClassVar[str] = "event.dead_lettered"
    LEVEL: ClassVar[Level] = Level.ERROR
    CATEGORY: ClassVar[Category] = Category.SYSTEM
    KEY: ClassVar[tuple[str, ...]] = ("order_id", "topic")

    topic: str
    partition: int = Field(ge=0)
    offset: int = Field(ge=0)
    error: FreeText
    dead_letter_topic: str
    consumer: str | None = None
    order_id: Identifier | None = None
    event_type: str | None = Field(default=None, description="The message's type, if it had one.")
    by_reference: bool = Field(
        default=False,
        description="Too large to copy: the dead letter holds the coordinates, not the body.",
    )

    def subject(self) -> str | None:
        return self.order_id

    @staticmethod
    def id_seed(topic: str, partition: int, offset: int, consumer: str | None) -> str:
        """What the fact's event id is derived from: redelivery makes the same fact."""
        who = f"{consumer}:" if consumer else ""
        return f"dead-letter:{who}{topic}:{partition}:{offset}"

    def render(self) -> str:
        where = f"{self.topic} @ partition {self.partition} offset {self.offset}"
        if self.consumer:
            what = f"{self.event_type} event" if self.event_type else "an unreadable event"
            return f"{self.consumer} could not process {what} on {where}: {self.error[:200]}"
        return f"Unreadable event on {where}: {self.error[:200]}"

    @classmethod
    def example(cls) -> Self:
        return cls(
            topic="shoptrail.ingest",
            partition=0,
            offset=1234,
            error="not valid JSON",
            dead_letter_topic="shoptrail.ingest.dlq",
        )


@REGISTRY.register
class OperatorActionNeeded(EventData):
    """Something only the shop's operator can fix stopped part of the shop (said once).

    `problem` is a stable key ("notifier.smtp_sender_refused"); the matching
    `OperatorActionCleared` resolves this entry when the problem is gone.
    """

    TYPE: ClassVar[str] = "system.action_needed"
    LEVEL: ClassVar[Level] = Level.ERROR
    CATEGORY: ClassVar[Category] = Category.SYSTEM
    KEY: ClassVar[tuple[str, ...]] = ("problem",)

    service: Identifier
    problem: Identifier
    summary: str = Field(description="What stopped, in the shop's words.")
    fix: str = Field(description="What to change to make it work again.")
    detail: FreeText | None = Field(default=None, description="What the other side said.")

    def render(self) -> str:
        detail = f" ({self.detail[:200]})" if self.detail else ""
        return f"{self.summary}{detail}. To fix: {self.fix}"

    @classmethod
    def example(cls) -> Self:
        return cls(
            service="notifier",
            problem="notifier.smtp_sender_refused",
            summary="Emails are on hold: the mail server refuses the sender address",
            fix="set a sender address your mail server accepts in Settings",
            detail="553 5.7.1 Sender address rejected",
        )


@REGISTRY.register
class OperatorActionCleared(EventData):
    """A problem reported by `OperatorActionNeeded` is gone; what was held has resumed."""

    TYPE: ClassVar[str] = "system.action_cleared"
    LEVEL: ClassVar[Level] = Level.INFO
    CATEGORY: ClassVar[Category] = Category.SYSTEM
    KEY: ClassVar[tuple[str, ...]] = ("problem",)

    service: Identifier
    problem: Identifier
    summary: str

    def render(self) -> str:
        return self.summary

    @classmethod
    def example(cls) -> Self:
        return cls(
            service="notifier",
            problem="notifier.smtp_sender_refused",
            summary="Emails are flowing again: 12 held emails released",
        )
