"""Exchange rules per pair, and the rounding and minimums every order must respect.

The rules come from the exchange at run time (never hard-coded). ``Reserves`` adds the margins
that the execution host applies on top of the exchange minimum, so that the core never plans an
order the host would silently resize or ignore. The defaults are Freqtrade's live ones
(docs/freqtrade-notes §3.4): an increase must clear 1.05 x the minimum, and a position (an initial
entry, or what a partial sell leaves) must stay above 1.5 x the minimum.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

EPS = 1e-9


@dataclass(frozen=True)
class MarketRules:
    """One pair's limits. Zero means "no such limit"."""

    min_notional: float = 0.0
    min_amount: float = 0.0
    amount_step: float = 0.0
    price_tick: float = 0.0
    # The largest quantity one order may carry. An order planned above it is cut to it; the rest of the
    # difference is traded at the next checks (a rebalance only trades what is still off target).
    max_amount: float = 0.0

    def floor_amount(self, amount: float) -> float:
        """Round a quantity down to the step, never up past ``amount`` nor past ``max_amount``."""
        if self.max_amount > 0 and amount > self.max_amount:
            amount = self.max_amount
        return floor_to_step(amount, self.amount_step)


@dataclass(frozen=True)
class Reserves:
    """Margins over the exchange minimum (see module docstring)."""

    order: float = 1.05
    position: float = 1.5

    def to_dict(self) -> dict[str, float]:
        return {"order": self.order, "position": self.position}


@lru_cache(maxsize=256)
def _decimals(step: float) -> int:
    exponent = Decimal(repr(step)).normalize().as_tuple().exponent
    return max(0, -int(exponent))


def floor_to_step(amount: float, step: float) -> float:
    """``amount`` rounded down to a multiple of ``step`` (float-safe: never exceeds ``amount``)."""
    if amount <= 0:
        return 0.0
    if step <= 0:
        return amount
    units = math.floor(amount / step + EPS)
    # rounded to the step's own decimals: units * step in floats can carry a digit past them (an exchange's
    # amount_to_precision would then change the order)
    result = round(units * step, _decimals(step))
    while result > amount * (1 + 1e-12) and units > 0:
        units -= 1
        result = round(units * step, _decimals(step))
    return max(result, 0.0)


def min_order_value(rules: MarketRules, price: float, min_trade: float, reserves: Reserves) -> float:
    """Smallest order (in the stake currency) that is worth sending for this pair at ``price``."""
    return max(min_trade, rules.min_notional * reserves.order, rules.min_amount * price * reserves.order)


def min_position_value(rules: MarketRules, price: float, reserves: Reserves) -> float:
    """Smallest position that may be opened, or left behind by a partial sell."""
    return max(rules.min_notional * reserves.position, rules.min_amount * price * reserves.position)
