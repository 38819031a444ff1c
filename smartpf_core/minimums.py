"""Minimum investment, computed from the real market rules rather than guessed.

Two figures, shown separately (as the product asks):
- ``initial``: the least investment for which every coin's initial order clears its pair's
  minimum, including the position reserve the host keeps (a position must stay above it so that a
  later partial sell is not refused);
- ``rebalance``: the investment below which a rebalance at the configured threshold would be too
  small to trade: the order of a coin deviating by exactly the threshold must clear the effective
  minimum order for its pair.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from .market import MarketRules, Reserves, min_order_value, min_position_value
from .spec import PortfolioSpec, Problem

SLACK = 1 + 1e-6  # stays clear of the planners' own float guards


@dataclass(frozen=True)
class MinimumInvestment:
    initial: float
    initial_by_pair: Mapping[str, float]
    rebalance: float
    rebalance_by_pair: Mapping[str, float]

    def binding_pair(self) -> str:
        return max(self.initial_by_pair, key=self.initial_by_pair.__getitem__)


def _whole_steps(value: float, price: float, step: float) -> float:
    """The smallest order value at ``price`` that is a whole number of steps and at least ``value``."""
    if step <= 0:
        return value
    return math.ceil(value / (price * step) - 1e-9) * step * price


def minimum_investment(
    spec: PortfolioSpec,
    rules: Mapping[str, MarketRules],
    prices: Mapping[str, float],
    reserves: Reserves | None = None,
) -> MinimumInvestment:
    reserves = reserves or Reserves()
    initial: dict[str, float] = {}
    rebalance: dict[str, float] = {}
    for pair, weight in spec.weights.items():
        rule = rules.get(pair, MarketRules())
        price = prices[pair]
        order_min = min_order_value(rule, price, spec.min_trade, reserves)
        first = max(order_min, min_position_value(rule, price, reserves))
        initial[pair] = _whole_steps(first, price, rule.amount_step) * (1 + spec.fee) / weight * SLACK
        band = spec.band(pair)
        rebalance[pair] = _whole_steps(order_min, price, rule.amount_step) / band * SLACK
    return MinimumInvestment(max(initial.values()), initial, max(rebalance.values()), rebalance)


def investment_problems(
    spec: PortfolioSpec,
    rules: Mapping[str, MarketRules],
    prices: Mapping[str, float],
    reserves: Reserves | None = None,
) -> tuple[MinimumInvestment, list[Problem]]:
    """The one check of the investment against the market rules at these prices, for every caller (the bot
    refuses on an error, ``init`` and ``minimum`` exit 2, a backtest warns). An investment below the
    initial minimum is an error (a coin could not be bought); below the rebalance minimum a warning (a
    rebalance at the threshold would be too small to trade, so the bot would drift further first)."""
    minimum = minimum_investment(spec, rules, prices, reserves)
    cur = spec.stake_currency
    problems: list[Problem] = []
    if spec.investment < minimum.initial:
        problems.append(Problem("smart_portfolio.investment", spec.investment,
                                f"below the minimum investment {minimum.initial:.2f} {cur} for the market rules "
                                f"of {minimum.binding_pair()} (every coin's first order must clear its pair's "
                                "minimum)"))
    elif spec.investment < minimum.rebalance:
        problems.append(Problem("smart_portfolio.investment", spec.investment,
                                f"below {minimum.rebalance:.2f} {cur}, a rebalance at the threshold of "
                                f"{spec.describe_threshold()} is too small to trade; the portfolio will drift "
                                "further before it rebalances", level="warning"))
    return minimum, problems
