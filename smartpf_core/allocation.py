"""Valuation: portfolio value, actual vs target weights, and deviations in both threshold types."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .threshold import deviation as deviation  # re-exported: it lived here


def portfolio_value(holdings: Mapping[str, float], prices: Mapping[str, float], cash: float) -> float:
    """V = sum of holdings x price + the bot's idle cash."""
    total: float = 0  # (a loop, not sum() over a generator: the same additions, from the same int 0, in order)
    for pair, qty in holdings.items():
        if qty:
            total += qty * prices[pair]
    return cash + total


def actual_weights(
    holdings: Mapping[str, float], prices: Mapping[str, float], cash: float, pairs: tuple[str, ...]
) -> dict[str, float]:
    value = portfolio_value(holdings, prices, cash)
    if value <= 0:
        return dict.fromkeys(pairs, 0.0)
    return {pair: holdings.get(pair, 0.0) * prices[pair] / value for pair in pairs}


@dataclass(frozen=True)
class Drift:
    """The coin that deviates most from its target, in the threshold's unit."""

    pair: str
    actual: float
    target: float
    deviation: float

    @property
    def size(self) -> float:
        return abs(self.deviation)


def largest_drift(
    weights: Mapping[str, float], targets: Mapping[str, float], threshold_type: str
) -> Drift | None:
    """The largest absolute deviation over every coin held or targeted (on the hot path of every check)."""
    best_pair = None
    best_dev = 0.0
    for pair in {**targets, **weights}:
        dev = deviation(weights.get(pair, 0.0), targets.get(pair, 0.0), threshold_type)
        if best_pair is None or abs(dev) > abs(best_dev):
            best_pair, best_dev = pair, dev
    if best_pair is None:
        return None
    return Drift(best_pair, weights.get(best_pair, 0.0), targets.get(best_pair, 0.0), best_dev)
