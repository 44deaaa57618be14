"""Facts the activity service publishes to `shoptrail.activity`: staff notes on orders.

A note is an event, not a row only the log holds: the topics are the log's
source of truth, so a replay that rebuilds the log from them keeps every note
and who wrote it.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Self

from pydantic import BeforeValidator, Field

from shoptrail.events.base import Category, Level, OrderFact
from shoptrail.events.hygiene import Identifier, clean_text
from shoptrail.events.registry import REGISTRY

MAX_NOTE = 2000
"""Characters a note may hold: a paragraph, not a document."""


def _tidy(value: object) -> object:
    """Clean what the store cannot hold and trim; the length is then checked, not cut."""
    return clean_text(value).strip() if isinstance(value, str) else value


NoteText = Annotated[str, BeforeValidator(_tidy), Field(min_length=1, max_length=MAX_NOTE)]
Author = Annotated[str, BeforeValidator(_tidy), Field(min_length=1, max_length=100)]


@REGISTRY.register
class OrderNoteAdded(OrderFact):
    """Someone on the shop's staff wrote a note on an order's timeline."""

    TYPE: ClassVar[str] = "order.note_added"
    LEVEL: ClassVar[Level] = Level.INFO
    CATEGORY: ClassVar[Category] = Category.ORDERS

    order_id: Identifier
    author: Author
    text: NoteText

    def render(self) -> str:
        return f"Note by {self.author}: {self.text}"

    @classmethod
    def example(cls) -> Self:
        return cls(
            order_id="ord_01J9Z8K4",
            author="admin",
            text="Customer called: please ship to the office address.",
        )
