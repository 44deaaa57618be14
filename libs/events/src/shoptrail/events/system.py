"""Facts any service may publish about itself: exhausted jobs, unreadable messages."""

from __future__ import annotations

from typing import ClassVar, Self

from pydantic import Field

from shoptrail.events.base import Category, EventData, Level
from shoptrail.events.registry import REGISTRY


@REGISTRY.register
class JobExhausted(EventData):
    """A background job gave up after its last retry."""

    TYPE: ClassVar[str] = "job.exhausted"
    LEVEL: ClassVar[Level] = Level.ERROR
    CATEGORY: ClassVar[Category] = Category.SYSTEM

    job_name: str
    job_id: str
    attempts: int = Field(ge=1)
    last_error: str
    order_id: str | None = None

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
    """A message could not be read and was moved to the dead-letter topic."""

    TYPE: ClassVar[str] = "event.dead_lettered"
    LEVEL: ClassVar[Level] = Level.ERROR
    CATEGORY: ClassVar[Category] = Category.SYSTEM

    topic: str
    partition: int = Field(ge=0)
    offset: int = Field(ge=0)
    error: str
    dead_letter_topic: str

    def render(self) -> str:
        return f"Unreadable event on {self.topic} @ partition {self.partition} offset {self.offset}"

    @classmethod
    def example(cls) -> Self:
        return cls(
            topic="shoptrail.fulfilment",
            partition=0,
            offset=1234,
            error="not valid JSON",
            dead_letter_topic="shoptrail.fulfilment.dlq",
        )
