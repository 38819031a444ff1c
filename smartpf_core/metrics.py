"""Portfolio value at each candle close and its drawdown, shared by the core simulator and hosts
(the Freqtrade strategy's backtest summary), so both report the same figures the same way."""

from __future__ import annotations

import math
from collections.abc import Mapping

from .engine import Engine


class ValueTracker:
    """Values the portfolio at closes; a missing close (NaN or absent) keeps the last known one."""

    def __init__(self) -> None:
        self.last_close: dict[str, float] = {}
        self.value: float | None = None
        self.peak = -math.inf
        self.max_drawdown = 0.0  # a fraction

    def observe(self, engine: Engine, closes: Mapping[str, float]) -> float:
        for pair, close in closes.items():
            if close == close:  # not NaN
                self.last_close[pair] = close
        if engine.started_at is None:
            value = engine.spec.investment
        else:
            ledger = engine.ledger
            value = ledger.cash + sum(q * self.last_close.get(p, 0.0) for p, q in ledger.holdings.items() if q)
        self.value = value
        self.peak = max(self.peak, value)
        if self.peak > 0:
            self.max_drawdown = max(self.max_drawdown, (self.peak - value) / self.peak)
        return value

    def hodl_value(self, engine: Engine) -> float:
        return engine.ledger.hodl.value(self.last_close) if engine.started_at is not None else engine.spec.investment
