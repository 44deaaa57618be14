"""The accepted-messages journal on disk: durable lines, torn ones skipped, old days pruned."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import uuid4

from shoptrail.notifier.adapters.journal import FileAcceptedJournal

AT = datetime(2026, 2, 23, 10, tzinfo=UTC)


def _files(folder: Path) -> list[Path]:
    return list(folder.iterdir())


async def test_what_one_process_wrote_another_reads_back(tmp_path: Path) -> None:
    email_id, other = uuid4(), uuid4()
    await FileAcceptedJournal(tmp_path / "state").record(
        email_id, f"<{email_id}@shop.example>", at=AT
    )

    reopened = FileAcceptedJournal(tmp_path / "state")
    assert await reopened.accepted([email_id, other]) == {email_id: f"<{email_id}@shop.example>"}


async def test_a_missing_folder_is_an_empty_journal(tmp_path: Path) -> None:
    assert await FileAcceptedJournal(tmp_path / "never-written").accepted([uuid4()]) == {}


async def test_concurrent_writers_never_mix_their_lines(tmp_path: Path) -> None:
    journal = FileAcceptedJournal(tmp_path)
    ids = [uuid4() for _ in range(200)]
    await asyncio.gather(*(journal.record(i, f"<{i}@shop.example>", at=AT) for i in ids))
    assert await journal.accepted(ids) == {i: f"<{i}@shop.example>" for i in ids}


async def test_a_line_torn_by_a_crash_is_skipped_and_the_next_one_still_counts(
    tmp_path: Path,
) -> None:
    journal = FileAcceptedJournal(tmp_path)
    first, torn, after = uuid4(), uuid4(), uuid4()
    await journal.record(first, f"<{first}@shop.example>", at=AT)
    (segment,) = _files(tmp_path)
    with segment.open("ab") as file:
        file.write(f"{AT.isoformat()} {torn} <{torn}@sho".encode())  # the crash came here
    await journal.record(after, f"<{after}@shop.example>", at=AT)

    found = await journal.accepted([first, torn, after])
    assert found == {first: f"<{first}@shop.example>", after: f"<{after}@shop.example>"}


async def test_days_older_than_the_retention_are_pruned_when_a_new_day_starts(
    tmp_path: Path,
) -> None:
    journal = FileAcceptedJournal(tmp_path, keep=timedelta(days=7))
    old, recent, today = uuid4(), uuid4(), uuid4()
    await journal.record(old, f"<{old}@s.example>", at=AT - timedelta(days=9))
    await journal.record(recent, f"<{recent}@s.example>", at=AT - timedelta(days=6))
    await journal.record(today, f"<{today}@s.example>", at=AT)

    assert sorted(p.name for p in _files(tmp_path)) == [
        "accepted-2026-02-17.log",
        "accepted-2026-02-23.log",
    ]
    assert set(await journal.accepted([old, recent, today])) == {recent, today}


async def test_a_message_id_cannot_break_its_line(tmp_path: Path) -> None:
    journal = FileAcceptedJournal(tmp_path)
    email_id = uuid4()
    await journal.record(email_id, f"<{email_id}@shop.example>\n{uuid4()} <forged@x>", at=AT)
    (segment,) = _files(tmp_path)
    assert segment.read_bytes().count(b"\n") == 1
    assert list(await journal.accepted([email_id])) == [email_id]
