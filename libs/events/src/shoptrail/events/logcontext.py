"""The id of the event being handled, for every log line written meanwhile.

A consumer handles one event at a time in its task; what it logs then (its
own lines, a use case's, a library's) should say which event it was about.
`event_scope` wraps a per-message handler so whatever it binds is unbound when
it returns; `bind_event_id` names the event once it is decoded. The log
formatter (shoptrail.kit.logging) reads `current_event_id()`.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Awaitable, Callable, Iterator
from contextvars import ContextVar
from typing import ParamSpec, TypeVar

_EVENT_ID: ContextVar[str | None] = ContextVar("shoptrail_event_id", default=None)

P = ParamSpec("P")
R = TypeVar("R")


def current_event_id() -> str | None:
    """The id of the event this task is handling, if any."""
    return _EVENT_ID.get()


def bind_event_id(event_id: object) -> None:
    """Name the event being handled, until the enclosing `event_scope`/`handling_event` ends."""
    _EVENT_ID.set(str(event_id))


@contextlib.contextmanager
def handling_event(event_id: object | None = None) -> Iterator[None]:
    """Log lines within the block carry `event_id` (if given, or once bound); unbound after."""
    token = _EVENT_ID.set(None if event_id is None else str(event_id))
    try:
        yield
    finally:
        _EVENT_ID.reset(token)


def event_scope(handler: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """`handler` (one message) in a `handling_event()` block: no event id outlives it."""

    @functools.wraps(handler)
    async def scoped(*args: P.args, **kwargs: P.kwargs) -> R:
        with handling_event():
            return await handler(*args, **kwargs)

    return scoped
