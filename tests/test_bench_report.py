"""`make bench`'s report: the Markdown says which goals held, the chart is drawn from points."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

from common import Goal, Point, Row
from report import markdown, write

ROWS = [
    Row(
        "activity",
        "consumer vs raw COPY",
        14_000,
        20_000,
        "ev/s",
        Goal(">=", 0.7),
        Point("throughput", "Shoptrail"),
    ),
    Row(
        "peers",
        "Shoptrail vs Benthos",
        14_000,
        10_000,
        "ev/s",
        Goal(">=", 1.5),
        Point("throughput", "Benthos"),
    ),
    Row(
        "latency",
        "search p99 | 10M rows",
        0.062,
        0.004,
        "s/req",
        Goal("<=", 0.050, on="value"),
        Point("latency", "search", 10_000_000),
    ),
    Row(
        "latency",
        "search p99, 1M rows",
        0.030,
        0.004,
        "s/req",
        None,
        Point("latency", "search", 1_000_000),
    ),
    Row(
        "live",
        "p99 at 5k clients",
        0.180,
        0.050,
        "s/ev",
        Goal("<=", 0.2, on="value"),
        Point("live", "feed clients", 5000),
    ),
]


def test_the_markdown_says_which_goals_held() -> None:
    text = markdown(ROWS, "t")
    rows = [line for line in text.splitlines() if line.startswith("| ") and "---" not in line]

    def line(name: str) -> str:
        (found,) = [row for row in rows if f"| {name} |" in row]
        return found

    assert line("consumer vs raw COPY").endswith("| 0.70x | >= 0.7x | yes |")
    assert line("Shoptrail vs Benthos").endswith("| 1.40x | >= 1.5x | **no** |")
    assert "| 62.0 ms/req |" in line("search p99 \\| 10M rows")  # a | in a name is escaped
    assert line("search p99 \\| 10M rows").endswith("| <= 0.05 | **no** |")
    assert line("search p99, 1M rows").endswith("|  |  |")


def test_the_chart_and_the_table_are_written_and_copied_as_latest(tmp_path: Path) -> None:
    written = write(ROWS, tmp_path, "bench-x")
    assert [p.name for p in written] == ["bench-x.md", "bench-x.png"]
    assert (tmp_path / "latest.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (tmp_path / "latest.md").read_text() == (tmp_path / "bench-x.md").read_text()


@pytest.mark.parametrize("rows", [[], [Row("codec", "decode", 1, 2, "s/msg")]])
def test_no_points_no_chart(tmp_path: Path, rows: list[Row]) -> None:
    assert [p.name for p in write(rows, tmp_path, "bench-y")] == ["bench-y.md"]
