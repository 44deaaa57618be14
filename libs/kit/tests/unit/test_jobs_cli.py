"""`jobs` commands: arguments, help, and the text table."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

import pytest

from shoptrail.kit.jobs import JobInfo, JobState
from shoptrail.kit.jobs_cli import add_jobs_command, table


def parser() -> argparse.ArgumentParser:
    made = argparse.ArgumentParser(prog="shoptrail-x")
    add_jobs_command(made.add_subparsers(dest="command", required=True), service="x")
    return made


def test_the_commands_parse_and_refuse_nonsense() -> None:
    args = parser().parse_args(["jobs", "list", "--state", "stalled", "--json"])
    assert (args.jobs_command, args.state, args.json) == ("list", "stalled", True)
    assert parser().parse_args(["jobs", "cancel", "7", "--abort"]).abort is True
    for wrong in (["jobs", "list", "--state", "done"], ["jobs", "retry", "x"], ["jobs"]):
        with pytest.raises(SystemExit) as exit_:
            parser().parse_args(wrong)
        assert exit_.value.code == 2
    with pytest.raises(SystemExit):
        parser().parse_args(["jobs", "list", "--limit", "0"])


def test_the_table_is_aligned_in_utc_and_cuts_long_errors() -> None:
    when = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
    job = JobInfo(
        id=12,
        task="submit_order",
        queue="fulfilment",
        state=JobState.FAILED,
        attempts=3,
        args={"order_id": "ord_1"},
        scheduled_at=None,
        started_at=when,
        failed_at=when,
        last_error="RuntimeError: " + "x" * 200,
        last_error_at=when,
    )
    lines = table([job]).splitlines()
    assert lines[0].split() == [
        "ID", "STATE", "TASK", "QUEUE", "TRIES", "SCHEDULED", "STARTED", "LAST", "ERROR"
    ]  # fmt: skip
    assert lines[1].split()[:7] == [
        "12", "failed", "submit_order", "fulfilment", "3", "-", "2026-03-01"
    ]  # fmt: skip
    assert "09:30:00Z" in lines[1] and lines[1].endswith("x" * 66)
    assert lines[0].index("LAST ERROR") == lines[1].index("RuntimeError")
    assert table([]) == "no jobs\n"
