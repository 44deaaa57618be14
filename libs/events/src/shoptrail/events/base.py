"""What every event type declares: its type string, level, category and voice."""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar, Self

from pydantic import BaseModel, ConfigDict

from shoptrail.events.hygiene import MAX_TEXT, Identifier


class Level(StrEnum):
    """How much an entry matters. `debug` facts are stored but hidden by default."""

    DEBUG = "debug"
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"

    @property
    def needs_attention(self) -> bool:
        """Warnings and errors are what the shop owner must look at."""
        return self in (Level.WARNING, Level.ERROR)


class Category(StrEnum):
    """The feed's category filters."""

    ORDERS = "orders"
    FULFILMENT = "fulfilment"
    EMAILS = "emails"
    SYNCS = "syncs"
    CARTS = "carts"
    SYSTEM = "system"


class EventData(BaseModel):
    """The typed payload of one event type.

    Subclasses set `TYPE` (the stable wire name, never a class path), `LEVEL`,
    `CATEGORY` and `VERSION`, implement `render()` in the shop's voice, and
    provide an `example()` used by docs, schemas and tests.
    """

    model_config = ConfigDict(frozen=True, extra="ignore", str_max_length=MAX_TEXT)

    TYPE: ClassVar[str]
    LEVEL: ClassVar[Level]
    CATEGORY: ClassVar[Category]
    VERSION: ClassVar[int] = 1
    KEY: ClassVar[tuple[str, ...]] = ()
    """The fields whose value is the Kafka key, in order of preference.

    The first of them that has a value keys the record, so every event about
    one entity (an order, a cart, a provider's syncs) lands on one partition,
    in the order it was published. Every registered type names at least one
    (a test checks); a record whose fields are all empty goes without a key.
    """

    def render(self) -> str:
        """The human message shown in the timeline and the feed."""
        raise NotImplementedError

    def subject(self) -> str | None:
        """The order this fact is about, if any: the envelope's `subject`."""
        return None

    def partition_key(self) -> str | None:
        """The Kafka key: the value of the first of `KEY`'s fields that has one."""
        for field in self.KEY:
            value = getattr(self, field)
            if value is not None:
                return str(value)
        return None

    @classmethod
    def example(cls) -> Self:
        """A realistic instance, in the shop's own words."""
        raise NotImplementedError


class OrderFact(EventData):
    """A fact about one order: keyed and ordered by the order id."""

    KEY: ClassVar[tuple[str, ...]] = ("order_id",)

    order_id: Identifier

    def subject(self) -> str | None:
        return self.order_id
