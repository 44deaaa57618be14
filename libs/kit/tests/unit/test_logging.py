"""Log lines carry what failed and where, never the data it failed on.

The exceptions are real: SQLAlchemy on SQLite refusing a duplicate customer
(its message quotes the statement and the bound email and address), pydantic
refusing a customer's input, and the chains our code wraps them in.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any

import pytest
from asyncpg.exceptions import UniqueViolationError
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy import Column, MetaData, String, Table, create_engine
from sqlalchemy import exc as sa_exc

from shoptrail.events.failures import PermanentError
from shoptrail.kit.logging import JsonFormatter, RepeatFilter

EMAIL = "alice.smith@example.com"
STREET = "12 Baker Street"


def _insert_customer_twice() -> None:
    metadata = MetaData()
    customers = Table(
        "customers",
        metadata,
        Column("email", String, primary_key=True),
        Column("street", String),
    )
    engine = create_engine("sqlite://")
    metadata.create_all(engine)
    with engine.begin() as connection:
        for _ in range(2):
            connection.execute(customers.insert().values(email=EMAIL, street=STREET))


class Customer(BaseModel):
    email: str = Field(max_length=10)
    house_number: int


def _validate_customer() -> None:
    Customer.model_validate({"email": EMAIL, "house_number": STREET})


def _insert_duplicate_through_asyncpg() -> None:
    driver = UniqueViolationError.new(
        {
            "C": "23505",
            "M": 'duplicate key value violates unique constraint "customers_pkey"',
            "D": f"Key (email)=({EMAIL}) already exists.",
        }
    )
    statement = "INSERT INTO customers (email, street) VALUES ($1, $2)"
    try:
        raise driver
    except UniqueViolationError as orig:
        raise sa_exc.IntegrityError(statement, (EMAIL, STREET), orig) from orig


def _store_order() -> None:
    try:
        _insert_customer_twice()
    except sa_exc.IntegrityError as exc:
        raise PermanentError("order 42 refused by the store") from exc


def _caught(action: Any) -> BaseException:
    try:
        action()
    except BaseException as exc:
        return exc
    raise AssertionError(f"{action.__name__} did not raise")


def _format(exc: BaseException | None = None, **extra: object) -> str:
    exc_info = (type(exc), exc, exc.__traceback__) if exc is not None else None
    record = logging.makeLogRecord(
        {
            "name": "shoptrail.test",
            "levelno": logging.ERROR,
            "levelname": "ERROR",
            "msg": "could not record the order",
            "exc_info": exc_info,
            **extra,
        }
    )
    return JsonFormatter().format(record)


def _entry(line: str) -> dict[str, Any]:
    assert "\n" not in line, "one JSON object per line"
    entry = json.loads(line)
    assert isinstance(entry, dict)
    return entry


def _assert_no_customer_data(line: str) -> None:
    assert EMAIL not in line
    assert "example.com" not in line
    assert STREET not in line
    assert "[parameters:" not in line
    assert "[SQL:" not in line
    assert "INSERT INTO" not in line


class TestAnExceptionIsLoggedAsFields:
    def test_a_sqlalchemy_error_keeps_its_type_and_frames_but_not_the_bound_values(self) -> None:
        error = _caught(_insert_customer_twice)
        assert EMAIL in str(error), "the premise: SQLAlchemy's message quotes the parameters"

        line = _format(error)

        _assert_no_customer_data(line)
        exception = _entry(line)["exception"]
        assert exception["type"] == "sqlalchemy.exc.IntegrityError"
        assert exception["message"] == "IntegrityError: UNIQUE constraint failed: customers.email"
        assert any(
            frame.startswith(f"{__file__}:") and frame.endswith(" in _insert_customer_twice")
            for frame in exception["frames"]
        )
        assert "sqlite3.IntegrityError" in [c["type"] for c in exception["causes"]]

    def test_a_postgresql_detail_quoting_the_row_is_left_out(self) -> None:
        error = _caught(_insert_duplicate_through_asyncpg)
        assert "DETAIL" in str(error), "the premise: the driver's message quotes the row"

        line = _format(error)

        _assert_no_customer_data(line)
        assert "DETAIL" not in line
        exception = _entry(line)["exception"]
        assert exception["message"] == (
            "UniqueViolationError: duplicate key value violates unique constraint …"
        )
        causes = exception["causes"]
        assert [c["type"] for c in causes] == ["asyncpg.exceptions.UniqueViolationError"]

    def test_a_validation_error_names_the_fields_but_not_their_input(self) -> None:
        error = _caught(_validate_customer)
        assert isinstance(error, ValidationError)
        assert EMAIL in str(error), "the premise: pydantic's message quotes the input"

        line = _format(error)

        _assert_no_customer_data(line)
        exception = _entry(line)["exception"]
        assert exception["type"] == "pydantic_core._pydantic_core.ValidationError"
        assert exception["message"].startswith("invalid Customer: email: String should have")
        assert "house_number" in exception["message"]
        assert any(frame.endswith(" in _validate_customer") for frame in exception["frames"])

    def test_a_chain_lists_each_cause_with_its_type_and_frames(self) -> None:
        error = _caught(_store_order)

        line = _format(error)

        _assert_no_customer_data(line)
        exception = _entry(line)["exception"]
        assert exception["type"] == "shoptrail.events.failures.PermanentError"
        assert exception["message"] == "PermanentError: order 42 refused by the store"
        assert any(frame.endswith(" in _store_order") for frame in exception["frames"])
        causes = exception["causes"]
        assert [c["type"] for c in causes] == [
            "sqlalchemy.exc.IntegrityError",
            "sqlite3.IntegrityError",
        ]
        assert any(frame.endswith(" in _insert_customer_twice") for frame in causes[0]["frames"])
        assert all(c["message"] for c in causes)

    def test_no_source_lines_or_locals_are_logged(self) -> None:
        def fail_with_a_local() -> None:
            customer_email = EMAIL
            raise RuntimeError(f"cannot ship to {customer_email[:5]}")

        line = _format(_caught(fail_with_a_local))

        assert "customer_email" not in line
        assert "raise RuntimeError" not in line
        frames = _entry(line)["exception"]["frames"]
        assert frames[-1].endswith(
            ".test_no_source_lines_or_locals_are_logged.<locals>.fail_with_a_local"
        )

    def test_a_deep_stack_keeps_its_innermost_frames(self) -> None:
        def recurse(depth: int) -> None:
            if depth == 0:
                raise ValueError("bottom")
            recurse(depth - 1)

        frames = _entry(_format(_caught(lambda: recurse(100))))["exception"]["frames"]

        assert len(frames) < 50
        assert "outer frames left out" in frames[0]
        assert frames[-1].endswith("recurse")

    def test_exc_info_without_an_exception_adds_no_field(self) -> None:
        record = logging.makeLogRecord(
            {"msg": "nothing raised", "exc_info": (None, None, None), "levelname": "ERROR"}
        )

        assert "exception" not in _entry(JsonFormatter().format(record))


class TestAnExceptionPassedInExtra:
    def test_is_rendered_the_same_safe_way(self) -> None:
        error = _caught(_insert_customer_twice)

        line = _format(error=error, errors=[error])

        _assert_no_customer_data(line)
        entry = _entry(line)
        assert entry["error"]["type"] == "sqlalchemy.exc.IntegrityError"
        assert entry["errors"][0]["type"] == "sqlalchemy.exc.IntegrityError"
        assert any(f.endswith(" in _insert_customer_twice") for f in entry["error"]["frames"])

    def test_other_values_are_unchanged(self) -> None:
        entry = _entry(_format(offset=7, topic="orders", ids=["a", "b"], where=Path("/srv")))

        assert entry["offset"] == 7
        assert entry["topic"] == "orders"
        assert entry["ids"] == ["a", "b"]
        assert entry["where"] == "/srv"


@pytest.mark.parametrize("level", ["warning", "error"])
def test_a_logger_writes_the_exception_through_the_formatter(
    level: str, capsys: pytest.CaptureFixture[str]
) -> None:
    logger = logging.getLogger(f"shoptrail.test.{level}")
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter())
    logger.addHandler(handler)
    logger.propagate = False
    try:
        try:
            _insert_customer_twice()
        except sa_exc.IntegrityError:
            getattr(logger, level)("could not record the order", exc_info=True)
    finally:
        logger.removeHandler(handler)

    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1
    _assert_no_customer_data(lines[0])
    assert _entry(lines[0])["exception"]["type"] == "sqlalchemy.exc.IntegrityError"


class TestALibraryRepeatingItselfIsSaidOncePerWindow:
    """aiokafka's reconnect loop during a Kafka outage must not flood the log."""

    def _record(self, name: str, level: int, msg: str, *args: object) -> logging.LogRecord:
        return logging.LogRecord(name, level, __file__, 1, msg, args, None)

    def test_repeats_within_the_window_are_counted_and_said_with_the_next_line(self) -> None:
        now = [0.0]
        repeats = RepeatFilter(30.0, clock=lambda: now[0])
        template = "Unable connect to node with id %s: %s"

        passed = []
        for second in range(100):  # twenty a second would be the real rate; one is enough
            now[0] = float(second)
            record = self._record("aiokafka", logging.ERROR, template, 1, "refused")
            if repeats.filter(record):
                passed.append((second, getattr(record, "repeated", 0)))

        assert passed == [(0, 0), (30, 29), (60, 29), (90, 29)]

    def test_our_own_lines_and_info_lines_are_never_filtered(self) -> None:
        repeats = RepeatFilter(30.0, clock=lambda: 0.0)
        ours = [
            self._record("shoptrail.events.outbox", logging.WARNING, "relay could not publish")
            for _ in range(5)
        ]
        infos = [self._record("aiokafka", logging.INFO, "joined group") for _ in range(5)]
        assert all(repeats.filter(record) for record in ours + infos)

    def test_different_kinds_do_not_hide_each_other(self) -> None:
        repeats = RepeatFilter(30.0, clock=lambda: 0.0)
        first = self._record("aiokafka", logging.ERROR, "Unable to update metadata from %s", 1)
        second = self._record("aiokafka.consumer.fetcher", logging.ERROR, "Failed fetch %s", 1)
        assert repeats.filter(first) and repeats.filter(second)
        assert not repeats.filter(self._record("aiokafka", logging.ERROR, first.msg, 2))
