"""The failure model: which failures are waited out, which are set aside, and how they read."""

from __future__ import annotations

import asyncpg
import pytest
from aiokafka import errors as kafka_errors
from pydantic import BaseModel, ValidationError
from sqlalchemy import exc as sa_exc

from shoptrail.events import MalformedEventError
from shoptrail.events.failures import (
    Backoff,
    FailureKind,
    PermanentError,
    TransientError,
    classify,
    describe,
    sqlstate,
)


def wrapped(driver_error: Exception) -> sa_exc.DBAPIError:
    """What SQLAlchemy raises around a driver error (statement and parameters included)."""
    try:
        raise driver_error
    except Exception as exc:
        return sa_exc.DBAPIError(
            "INSERT INTO orders (email) VALUES ($1)",
            ("jo.buyer@example.com",),
            exc,
        )


class Customer(BaseModel):
    email: int


def validation_error() -> ValidationError:
    try:
        Customer(email="jo.buyer@example.com")
    except ValidationError as exc:
        return exc
    raise AssertionError("unreachable")


class TestClassify:
    @pytest.mark.parametrize(
        "error",
        [
            ConnectionRefusedError("connect failed"),
            TimeoutError(),
            OSError("network unreachable"),
            kafka_errors.KafkaConnectionError("no broker"),
            kafka_errors.OutOfOrderSequenceNumber(),
            kafka_errors.NotEnoughReplicasError(),
            asyncpg.exceptions.CannotConnectNowError("the database system is starting up"),
            asyncpg.exceptions.AdminShutdownError("terminating connection"),
            asyncpg.exceptions.SerializationError("could not serialize access"),
            asyncpg.exceptions.UndefinedTableError('relation "orders" does not exist'),
            asyncpg.exceptions.TooManyConnectionsError("too many clients"),
            wrapped(asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed")),
            sa_exc.TimeoutError("QueuePool limit reached"),
            TransientError("the provider is down"),
        ],
        ids=lambda e: type(e).__name__,
    )
    def test_an_outage_is_transient(self, error: Exception) -> None:
        assert classify(error) is FailureKind.TRANSIENT

    @pytest.mark.parametrize(
        "error",
        [
            asyncpg.exceptions.UntranslatableCharacterError("unsupported Unicode escape sequence"),
            asyncpg.exceptions.CharacterNotInRepertoireError("invalid byte sequence"),
            asyncpg.exceptions.NumericValueOutOfRangeError("bigint out of range"),
            wrapped(asyncpg.exceptions.UniqueViolationError("duplicate key")),
            validation_error(),
            MalformedEventError("not valid JSON"),
            kafka_errors.MessageSizeTooLargeError(),
            UnicodeEncodeError("utf-8", "\ud800", 0, 1, "surrogates not allowed"),
            PermanentError("never"),
        ],
        ids=lambda e: type(e).__name__,
    )
    def test_data_that_can_never_be_stored_is_permanent(self, error: Exception) -> None:
        assert classify(error) is FailureKind.PERMANENT

    @pytest.mark.parametrize(
        "error", [ValueError("boom"), KeyError("order_id"), RuntimeError("a bug")]
    )
    def test_anything_else_is_unknown(self, error: Exception) -> None:
        assert classify(error) is FailureKind.UNKNOWN

    def test_the_cause_decides_when_the_outer_error_says_nothing(self) -> None:
        outer = RuntimeError("could not store the batch")
        outer.__cause__ = ConnectionResetError("peer reset")
        assert classify(outer) is FailureKind.TRANSIENT

    def test_sqlstate_is_found_through_sqlalchemy(self) -> None:
        error = wrapped(asyncpg.exceptions.UntranslatableCharacterError("x"))
        assert sqlstate(error) == "22P05"


class TestDescribe:
    def test_keeps_the_driver_error_and_drops_the_statement_and_parameters(self) -> None:
        error = wrapped(asyncpg.exceptions.UntranslatableCharacterError("unsupported escape"))
        assert "jo.buyer@example.com" in str(error)  # what used to reach the logs
        text = describe(error)
        assert text == "UntranslatableCharacterError: unsupported escape"

    def test_drops_pydantics_input_values(self) -> None:
        text = describe(validation_error())
        assert "jo.buyer" not in text
        assert "email" in text and "Customer" in text

    def test_elides_quoted_values_in_other_libraries_messages(self) -> None:
        text = describe(ValueError("invalid input for query argument $1: 'Jo Buyer, 1 High St'"))
        assert "High St" not in text
        assert text.startswith("ValueError: invalid input for query argument $1:")

    def test_masks_email_addresses_anywhere(self) -> None:
        assert describe(RuntimeError("mail to jo@example.com refused")) == (
            "RuntimeError: mail to <email> refused"
        )

    def test_is_one_bounded_line(self) -> None:
        text = describe(RuntimeError("first line " + "x" * 1000 + "\nsecond line"))
        assert "\n" not in text and len(text) <= 300 and text.endswith("…")


class TestBackoff:
    def test_grows_from_base_to_cap_with_jitter_never_below_half_a_step(self) -> None:
        backoff = Backoff(base=1.0, cap=8.0)
        for attempt, step in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (10, 8.0)]:
            delays = [backoff.delay(attempt) for _ in range(200)]
            assert all(step / 2 <= d <= step for d in delays)
            assert len(set(delays)) > 1  # jittered, not lockstep
