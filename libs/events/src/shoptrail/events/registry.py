"""Which event types exist, keyed by their wire `type`, and how old versions upcast."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from shoptrail.events.base import EventData

D = TypeVar("D", bound=type[EventData])
Upcaster = Callable[[dict[str, Any]], dict[str, Any]]


class UnknownEventTypeError(LookupError):
    """No event type with that wire name is registered."""


class Registry:
    """Event types by `TYPE`, plus pure upcasters from each older schema version."""

    def __init__(self) -> None:
        self._types: dict[str, type[EventData]] = {}
        self._upcasters: dict[tuple[str, int], Upcaster] = {}

    def register(self, cls: D) -> D:
        """Class decorator: make `cls` parseable by its `TYPE`."""
        if cls.TYPE in self._types and self._types[cls.TYPE] is not cls:
            raise ValueError(f"event type {cls.TYPE!r} is registered twice")
        self._types[cls.TYPE] = cls
        return cls

    def upcaster(self, type_: str, from_version: int) -> Callable[[Upcaster], Upcaster]:
        """Decorator: a pure function turning version N data into version N+1."""

        def decorate(fn: Upcaster) -> Upcaster:
            self._upcasters[(type_, from_version)] = fn
            return fn

        return decorate

    def get(self, type_: str) -> type[EventData]:
        try:
            return self._types[type_]
        except KeyError:
            raise UnknownEventTypeError(f"unknown event type {type_!r}") from None

    def upcast(self, type_: str, version: int, data: dict[str, Any]) -> dict[str, Any]:
        """Bring `data` written at `version` up to the registered type's current version."""
        target = self.get(type_).VERSION
        while version < target:
            step = self._upcasters.get((type_, version))
            if step is None:
                raise LookupError(f"no upcaster for {type_!r} from schema version {version}")
            data = step(data)
            version += 1
        return data

    def types(self) -> list[type[EventData]]:
        """Every registered type."""
        return list(self._types.values())

    def __iter__(self) -> Iterator[type[EventData]]:
        return iter(self._types.values())

    def __len__(self) -> int:
        return len(self._types)

    def __contains__(self, type_: object) -> bool:
        return type_ in self._types


REGISTRY = Registry()
"""The shop's taxonomy. Modules per producer register into it on import."""
