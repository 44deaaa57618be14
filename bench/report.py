"""The report `make bench` leaves behind: the table as Markdown and a chart as PNG.

    bench/results/bench-<time>.md    every row: value, baseline, ratio, goal, held?
    bench/results/bench-<time>.png   throughput against the peers, latency against
                                     rows in the log, live push p99 against clients
    bench/results/latest.md|png      copies of the newest two

A row reaches the chart when its benchmark gives it a `Point` (see common.py).
"""

from __future__ import annotations

import shutil
from collections import defaultdict
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: no display here, and none needed

import matplotlib.pyplot as plt
from common import Row

PANELS = {
    "throughput": ("Into PostgreSQL from Kafka (same 60k events)", "events/s"),
    "latency": ("First page p99 against rows in the log", "p99 (ms)"),
    "live": ("Live push p99 against connected clients", "p99 (ms)"),
}


def value_text(value: float, unit: str) -> str:
    if unit.startswith("s/"):
        return f"{value * 1e3:,.1f} m{unit}"
    if unit == "B":
        return f"{value / 1024:,.1f} KiB"
    return f"{value:,.1f} {unit}"


def markdown(rows: list[Row], title: str) -> str:
    lines = [
        f"# {title}",
        "",
        "Each ratio is the value against a baseline measured in the same run.",
        "",
        "| suite | benchmark | value | baseline | ratio | goal | holds |",
        "|---|---|--:|--:|--:|---|:-:|",
    ]
    for row in rows:
        goal, holds = ("", "")
        if row.goal is not None:
            goal, holds = str(row.goal), "yes" if row.goal.holds(row) else "**no**"
        name = row.name.strip().replace("|", "\\|")
        lines.append(
            f"| {row.suite} | {name} | {value_text(row.value, row.unit)} | "
            f"{value_text(row.baseline, row.unit)} | {row.ratio:.2f}x | {goal} | {holds} |"
        )
    return "\n".join(lines) + "\n"


def _milliseconds(row: Row) -> float:
    if row.unit.startswith("s/"):
        return row.value * 1e3
    return row.value  # latency rows are in ms otherwise


def chart(rows: list[Row], path: Path) -> bool:
    """Draw the panels that have points; False when no row has one (no file written)."""
    by_panel: dict[str, list[Row]] = defaultdict(list)
    for row in rows:
        if row.point is not None:
            by_panel[row.point.panel].append(row)
    panels = [name for name in PANELS if by_panel[name]]
    if not panels:
        return False
    figure, axes = plt.subplots(1, len(panels), figsize=(6.5 * len(panels), 4.6), squeeze=False)
    for ax, name in zip(axes[0], panels, strict=True):
        title, ylabel = PANELS[name]
        ax.set_title(title, fontsize=10)
        ax.set_ylabel(ylabel)
        points = by_panel[name]
        if name == "throughput":
            labels = [row.point.series for row in points if row.point]
            bars = ax.bar(labels, [row.value for row in points], color="#4c72b0")
            ax.bar_label(bars, fmt="{:,.0f}", fontsize=8)
            ax.tick_params(axis="x", labelrotation=20, labelsize=8)
        else:
            series: dict[str, list[Row]] = defaultdict(list)
            for row in points:
                if row.point:
                    series[row.point.series].append(row)
            for label, line in series.items():
                line.sort(key=lambda row: row.point.x if row.point else 0)
                xs = [row.point.x for row in line if row.point]
                ax.plot(xs, [_milliseconds(row) for row in line], marker="o", label=label)
            ax.set_xlabel("rows in the log" if name == "latency" else "clients")
            if name == "latency":
                ax.set_xscale("log")
            ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return True


def write(rows: list[Row], directory: Path, stem: str) -> list[Path]:
    """Write the Markdown and the chart; also as `latest.*`. Returns the files written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = [directory / f"{stem}.md"]
    written[0].write_text(markdown(rows, f"Shoptrail benchmarks, {stem.removeprefix('bench-')}"))
    png = directory / f"{stem}.png"
    if chart(rows, png):
        written.append(png)
    for path in written:
        shutil.copyfile(path, directory / f"latest{path.suffix}")
    return written
