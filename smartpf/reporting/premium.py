"""The premium over HODL, split into what caused it.

The HODL shadow is the initial purchase itself, never rebalanced, so the difference between the
portfolio and HODL is exactly what every later trade did: each trade's quantity valued at the last
price minus at its own price (a buy that later rose, a sell that later fell, add), less its fee.
The split:

- ``rebalancing``: what the rebalances would have done with every order they planned, valued at the
  last prices: the trades sent, plus the orders the minimums skipped;
- ``left_undone_by_minimums``: minus those skipped orders (the drift the exchange's minimums left);
  a skipped order counts until its pair next trades, when the next rebalance takes up the drift;
- ``fees``: the fees of every trade after the initial purchase (HODL paid the initial ones too);
- ``exit``: the take-profit / stop-loss / terminate sells, valued the same way;
- ``other``: what is left (investment changes the HODL shadow mirrors differently, float rounding):
  normally a rounding error.

The parts add up to the premium by construction.
"""

from __future__ import annotations

import bisect
from typing import Any

import numpy as np

from .inputs import ReportInput
from .series import Series

REBALANCE_KINDS = ("rebalance",)


def premium_split(data: ReportInput, series: Series) -> dict[str, Any]:
    n = len(series.times)
    if not n:
        return {"premium": 0.0, "rebalancing": 0.0, "left_undone_by_minimums": 0.0, "fees": 0.0, "exit": 0.0,
                "other": 0.0, "skipped_orders": 0}
    last = {p: float(series.last_close[-1, j]) for j, p in enumerate(series.pairs)}
    traded = 0.0
    exit_ = 0.0
    fees = 0.0
    for record in data.records:
        if record.kind == "initial":
            continue
        for t in record.trades:
            effect = (1.0 if t.side == "buy" else -1.0) * t.amount * (last.get(t.pair, t.price) - t.price)
            if record.kind == "exit":
                exit_ += effect
            elif record.kind in REBALANCE_KINDS:
                traded += effect
            fees += t.fee
    undone, skipped = _undone(data, series, last)
    value, hodl = float(series.value[-1]), float(series.hodl[-1])
    premium = value - hodl
    other = premium - (traded - fees + exit_)
    return {
        "value": value,
        "hodl_value": hodl,
        "premium": premium,
        "rebalancing": traded + undone,
        "left_undone_by_minimums": -undone,
        "fees": -fees,
        "exit": exit_,
        "other": other,
        "skipped_orders": skipped,
    }


def _undone(data: ReportInput, series: Series, last: dict[str, float]) -> tuple[float, int]:
    """The skipped orders of the rebalances at their later prices, each until its pair next trades."""
    trades_by_pair: dict[str, tuple[list[float], list[str], list[float]]] = {}
    for record in data.records:
        for t in record.trades:
            when, ops, prices = trades_by_pair.setdefault(t.pair, ([], [], []))
            when.append(t.time)
            ops.append(record.id)
            prices.append(t.price)
    for pair, (when, ops, prices) in trades_by_pair.items():
        if any(b < a for a, b in zip(when, when[1:], strict=False)):  # a live bot's fills may be booked late
            order = sorted(range(len(when)), key=when.__getitem__)
            trades_by_pair[pair] = ([when[k] for k in order], [ops[k] for k in order], [prices[k] for k in order])
    times = series.times - data.timeframe_seconds  # candle open times
    total = 0.0
    count = 0
    for record in data.records:
        if record.kind not in REBALANCE_KINDS:
            continue
        for s in record.skipped:
            if s.pair not in last or s.side not in ("buy", "sell") or not s.value > 0:
                continue
            i = int(np.clip(np.searchsorted(times, record.started_at, side="right") - 1, 0, len(times) - 1))
            opened = data.opens.get(s.pair)
            price = float(opened[i]) if opened is not None else float("nan")
            if not (price == price and price > 0):
                price = float(series.last_close[i, series.pairs.index(s.pair)])
            if not price > 0:
                continue
            total += (1.0 if s.side == "buy" else -1.0) * s.value / price * (_next_price(
                trades_by_pair.get(s.pair), record.started_at, record.id, last[s.pair]) - price)
            count += 1
    return total, count


def _next_price(trades: tuple[list[float], list[str], list[float]] | None, after: float, op: str,
                default: float) -> float:
    """The price of the pair's first trade after ``after`` by another operation (``default``: none)."""
    if trades is None:
        return default
    when, ops, prices = trades
    k = bisect.bisect_right(when, after)
    while k < len(when) and ops[k] == op:
        k += 1
    return prices[k] if k < len(when) else default
