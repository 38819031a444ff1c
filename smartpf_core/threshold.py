"""The rebalancing threshold: the one place a deviation and a coin's allowed band are computed.

Absolute: the deviation is in percentage points of the portfolio and the band is the same for every coin.
Relative: the deviation is in percent of the coin's target and the band scales with the target.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache


def deviation(actual: float, target: float, threshold_type: str) -> float:
    """Signed deviation in the unit of the threshold: percentage points, or percent of the target."""
    if threshold_type == "absolute":
        return (actual - target) * 100.0
    if target <= 0:
        return float("inf") if actual > 0 else 0.0
    return (actual - target) / target * 100.0


@dataclass(frozen=True)
class Threshold:
    size: float  # in the unit of ``kind``
    kind: str  # "absolute" | "relative"

    def deviation(self, actual: float, target: float) -> float:
        """``actual`` and ``target`` are weights (fractions of the portfolio)."""
        return deviation(actual, target, self.kind)

    def band(self, target: float) -> float:
        """How far a coin's weight may stray from ``target`` before a rebalance, as a fraction of the portfolio."""
        if self.kind == "absolute":
            return self.size / 100.0
        return target * self.size / 100.0

    def exceeded(self, dev: float) -> bool:
        return abs(dev) > self.size + 1e-9

    def describe(self) -> str:
        """Always say which threshold type is in force: users of other products are split on it."""
        return _describe(self.size, self.kind)


@lru_cache(maxsize=64)
def _describe(size: float, kind: str) -> str:  # (said at every check: made once per threshold)
    if kind == "absolute":
        unit = "percentage point" if size == 1 else "percentage points"
        return f"{size:g} {unit} (absolute)"
    return f"{size:g} % of each target (relative)"
