"""What every benchmark returns: a figure and the in-run baseline it is compared to."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class Goal:
    """A promise a figure keeps or breaks: `on` the ratio or the value, `op` the limit.

    E.g. `Goal(">=", 0.7)` (at least 0.7x the baseline) or
    `Goal("<=", 0.050, on="value")` (a p99 of at most 50 ms, values in seconds).
    """

    op: Literal[">=", "<="]
    limit: float
    on: Literal["ratio", "value"] = "ratio"

    def holds(self, row: Row) -> bool:
        figure = row.ratio if self.on == "ratio" else row.value
        return figure >= self.limit if self.op == ">=" else figure <= self.limit

    def __str__(self) -> str:
        if self.on == "ratio":
            return f"{self.op} {self.limit:g}x"
        return f"{self.op} {self.limit:g}"


@dataclass(frozen=True)
class Point:
    """Where a row goes on the report's chart (bench/report.py): a panel, a line, an x."""

    panel: Literal["throughput", "latency", "live"]
    series: str
    x: float = 0.0


@dataclass(frozen=True)
class Row:
    suite: str
    name: str
    value: float
    baseline: float
    unit: str
    goal: Goal | None = None
    point: Point | None = None

    @property
    def ratio(self) -> float:
        return self.value / self.baseline if self.baseline else float("nan")
