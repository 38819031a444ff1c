"""Freqtrade backtesting's conventions, written once: the core backtest and the strategy both follow them.

- An entry signal on a candle fills at the next candle's open, so the first purchase happens at the
  second candle (``first_trade_index``).
- A candle that is not there, or that Freqtrade filled up for a gap (volume 0), is missing: nothing
  is traded on it, and the portfolio is valued at the last known close.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class BacktestConventions:
    first_trade_index: int = 1
    min_volume: float = 0.0  # a candle must trade more than this to be real (vectorised loaders use it too)

    def tradable(self, price: float | None, volume: float | None = None) -> bool:
        """Whether a candle's price may be traded on: present, a positive number, and a real candle."""
        if price is None or not isinstance(price, int | float) or math.isnan(price) or price <= 0:
            return False
        return volume is None or volume > self.min_volume


FREQTRADE = BacktestConventions()
