"""The accepted-messages journal: a local, append-only, fsynced file per day.

One line per message the mail server accepted: `<time> <email id> <Message-ID>`.
Each line is a single `write` on a file opened for appending, so processes
sharing the folder never interleave lines; a line torn by a crash mid-write
is skipped when read (an entry counts only with its closing `>` and newline).
Days older than `keep` are deleted when a new day's file starts, so the folder
stays small without rewriting a file anyone appends to.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Collection
from datetime import date, datetime, timedelta
from pathlib import Path
from uuid import UUID

from shoptrail.notifier.service_layer.ports import AcceptedJournal

KEEP = timedelta(days=7)
"""Far longer than `NOTIFIER_EMAIL_STUCK_AFTER`: the journal only has to outlive the tick."""

_SEGMENT = re.compile(r"^accepted-(\d{4}-\d{2}-\d{2})\.log$")
_ENTRY = re.compile(
    rb"([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}) (<[^\s<>]+>)\n"
)
_UNSAFE = re.compile(r"[\s<>]")


class FileAcceptedJournal(AcceptedJournal):
    """The journal in `folder` (created when first written)."""

    def __init__(self, folder: Path, *, keep: timedelta = KEEP) -> None:
        self._folder = folder
        self._keep = keep

    @property
    def folder(self) -> Path:
        return self._folder

    def _segment(self, day: date) -> Path:
        return self._folder / f"accepted-{day.isoformat()}.log"

    async def record(self, email_id: UUID, message_id: str, *, at: datetime) -> None:
        message_id = f"<{_UNSAFE.sub('', message_id)}>"
        line = f"{at.isoformat()} {email_id} {message_id}\n"
        await asyncio.to_thread(self._append, line.encode("utf-8", "replace"), at)

    def _append(self, line: bytes, at: datetime) -> None:
        self._folder.mkdir(parents=True, exist_ok=True)
        path = self._segment(at.date())
        new = not path.exists()
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            if os.write(fd, line) != len(line):
                raise OSError(f"short write to {path.name}")
            os.fsync(fd)
        finally:
            os.close(fd)
        if new:
            self._sync_folder()  # the new file's name must survive a crash too
            self._prune(before=(at - self._keep).date())

    def _sync_folder(self) -> None:
        fd = os.open(self._folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def _segments(self) -> list[tuple[date, Path]]:
        if not self._folder.is_dir():
            return []
        found = []
        for path in self._folder.iterdir():
            if match := _SEGMENT.match(path.name):
                found.append((date.fromisoformat(match[1]), path))
        return sorted(found)

    def _prune(self, *, before: date) -> None:
        for day, path in self._segments():
            if day < before:
                path.unlink(missing_ok=True)

    async def accepted(self, email_ids: Collection[UUID]) -> dict[UUID, str]:
        wanted = set(email_ids)
        if not wanted:
            return {}
        return await asyncio.to_thread(self._find, wanted)

    def _find(self, wanted: set[UUID]) -> dict[UUID, str]:
        found: dict[UUID, str] = {}
        for _, path in self._segments():
            for raw_id, raw_message_id in _ENTRY.findall(path.read_bytes()):
                email_id = UUID(raw_id.decode())
                if email_id in wanted:
                    found[email_id] = raw_message_id.decode("utf-8", "replace")
        return found
