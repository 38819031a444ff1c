"""Weights from data: inverse volatility (``weights: "inverse_volatility"``, issue 28 option 6).

The engine keeps one price per coin per UTC day (the first valid tick of the day) over ``volatility_window``;
at each rebalance the weights are recomputed: each coin's weight is proportional to 1 / the standard deviation
of its daily log returns, so a calmer coin gets more. Until every coin has two returns (three days), or when a
coin did not move at all, every coin gets the same weight. Pure functions, no clock.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

DAY = 86400
MIN_SAMPLES = 3  # two returns at least


def day_index(now: float) -> int:
    return math.floor(now / DAY + 1e-9)


def volatility(prices: Sequence[float]) -> float | None:
    """The sample standard deviation of the log returns of ``prices`` (None with fewer than two returns)."""
    if len(prices) < MIN_SAMPLES:
        return None
    returns = [math.log(b / a) for a, b in zip(prices, prices[1:], strict=False)]
    mean = sum(returns) / len(returns)
    return math.sqrt(sum((r - mean) ** 2 for r in returns) / (len(returns) - 1))


def inverse_volatility_weights(pairs: Sequence[str], samples: Mapping[str, Sequence[float]]) -> dict[str, float]:
    """Weights over ``pairs`` proportional to 1 / volatility; equal while any volatility is unknown or zero."""
    vols = [volatility(samples.get(p, ())) for p in pairs]
    if not pairs:
        return {}
    if any(v is None or not v > 0 for v in vols):
        return {p: 1.0 / len(pairs) for p in pairs}
    inverse = [1.0 / v for v in vols if v is not None]
    total = sum(inverse)
    return {p: x / total for p, x in zip(pairs, inverse, strict=True)}
