"""What every benchmark returns: a figure and the in-run baseline it is compared to."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Row:
    suite: str
    name: str
    value: float
    baseline: float
    unit: str

    @property
    def ratio(self) -> float:
        return self.value / self.baseline if self.baseline else float("nan")
