"""Run the same engine over price arrays: the core backtest.

Conventions follow Freqtrade's backtester so the two can be compared: every order fills at the
open of the candle of the tick it was decided in, with the fee on both sides; the first purchase
happens at the second candle (an entry signal on the first candle fills at the next open); a
two-phase rebalance sells at one candle and buys at the next. Values are taken at each candle's
close; a missing candle carries the last close forward for valuation and blocks trading.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .engine import Engine
from .events import Fill, Snapshot
from .market import MarketRules, Reserves
from .spec import PortfolioSpec


@dataclass(frozen=True)
class SimResult:
    start: float
    end: float
    ticks: int
    invested: float
    final_value: float
    hodl_value: float
    profit_pct: float
    hodl_profit_pct: float
    rebalances: int
    orders: int
    fees: float
    turnover: float
    max_drawdown_pct: float
    engine: Engine = field(repr=False)

    def summary(self) -> dict[str, Any]:
        return {
            "invested": self.invested,
            "final_value": self.final_value,
            "hodl_value": self.hodl_value,
            "profit_pct": self.profit_pct,
            "hodl_profit_pct": self.hodl_profit_pct,
            "rebalances": self.rebalances,
            "orders": self.orders,
            "fees": self.fees,
            "turnover": self.turnover,
            "max_drawdown_pct": self.max_drawdown_pct,
        }


def simulate(
    spec: PortfolioSpec,
    times: Sequence[float],
    opens: Mapping[str, Sequence[float]],
    closes: Mapping[str, Sequence[float]],
    rules: Mapping[str, MarketRules] | None = None,
    reserves: Reserves | None = None,
    first_trade_index: int = 1,
) -> SimResult:
    """Replay ``times`` (epoch seconds, one per candle) with NaN for a missing candle."""
    engine = Engine(spec, rules, reserves)
    pairs = list(opens)
    fee = spec.fee
    last_close: dict[str, float] = {}
    peak = -math.inf
    max_dd = 0.0
    value = spec.investment
    open_cols = [opens[p] for p in pairs]
    close_cols = [closes[p] for p in pairs]
    for i, now in enumerate(times):
        if i >= first_trade_index:
            prices = {}
            for pair, col in zip(pairs, open_cols, strict=True):
                price = col[i]
                if price == price:  # not NaN
                    prices[pair] = price
            decision = engine.step(Snapshot(now, prices))
            for order in decision.orders:
                price = prices[order.pair]
                engine.on_fill(Fill(order.id, order.amount, price, order.amount * price * fee, now))
        for pair, col in zip(pairs, close_cols, strict=True):
            close = col[i]
            if close == close:
                last_close[pair] = close
        if engine.started_at is not None:
            value = engine.cash + sum(q * last_close.get(p, 0.0) for p, q in engine.holdings.items() if q)
        peak = max(peak, value)
        if peak > 0:
            max_dd = max(max_dd, (peak - value) / peak)
    hodl = engine.hodl.value(last_close) if engine.started_at is not None else spec.investment
    invested = engine.invested
    metrics = engine.metrics()
    return SimResult(
        start=float(times[0]) if len(times) else 0.0,
        end=float(times[-1]) if len(times) else 0.0,
        ticks=len(times),
        invested=invested,
        final_value=value,
        hodl_value=hodl,
        profit_pct=(value - invested) / invested * 100 if invested else 0.0,
        hodl_profit_pct=(hodl - invested) / invested * 100 if invested else 0.0,
        rebalances=metrics.rebalances,
        orders=metrics.orders,
        fees=metrics.fees,
        turnover=metrics.turnover,
        max_drawdown_pct=max_dd * 100,
        engine=engine,
    )
