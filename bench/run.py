"""`make bench`: run every `bench/bench_*.py`, print one table of ratios, save it.

The table is saved under bench/results/ as text, as Markdown with each goal and
whether it held, and as a chart (bench/report.py).

Each benchmark measures its baseline in the same run, because this machine is
shared and noisy: ratios are comparable between runs, absolute numbers less so.

    uv run python bench/run.py [NAME ...]     # e.g. codec
"""

from __future__ import annotations

import argparse
import importlib
import sys
from datetime import UTC, datetime
from pathlib import Path

from common import Row
from report import write

HERE = Path(__file__).resolve().parent


def _fmt(value: float, unit: str) -> str:
    if unit.startswith("s/"):
        return f"{value * 1e6:,.1f} µ{unit}"
    return f"{value:,.1f} {unit}"


def _goal(row: Row) -> str:
    if row.goal is None:
        return ""
    return f" {row.goal} {'held' if row.goal.holds(row) else 'MISSED'}"


def table(rows: list[Row]) -> str:
    header = f"{'suite':<10} {'benchmark':<52} {'ratio':>8} {'value':>16} {'baseline':>16} goal"
    lines = [header, "-" * len(header)]
    for row in rows:
        lines.append(
            f"{row.suite:<10} {row.name:<52} {row.ratio:>7.2f}x "
            f"{_fmt(row.value, row.unit):>16} {_fmt(row.baseline, row.unit):>16}" + _goal(row)
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(prog="make bench", description=__doc__)
    parser.add_argument("names", nargs="*", help="only these benchmarks (default: all)")
    args = parser.parse_args()
    available = sorted(p.stem.removeprefix("bench_") for p in HERE.glob("bench_*.py"))
    chosen = args.names or available
    unknown = set(chosen) - set(available)
    if unknown:
        parser.error(f"unknown benchmark(s) {sorted(unknown)}; available: {available}")
    rows: list[Row] = []
    for name in chosen:
        print(f"[bench] running {name}…", file=sys.stderr, flush=True)
        rows.extend(importlib.import_module(f"bench_{name}").run())
    text = table(rows)
    print(text)
    stem = f"bench-{datetime.now(UTC):%Y%m%dT%H%M%SZ}"
    out = HERE / "results" / f"{stem}.txt"
    out.parent.mkdir(exist_ok=True)
    out.write_text(text + "\n")
    for path in [out, *write(rows, out.parent, stem)]:
        print(f"[bench] written: {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
