"""The portfolio's value at every candle close, rebuilt from its records and the candle closes.

Between two fills the holdings and the cash are fixed, so the value at a close is the cash plus each
holding times the pair's last known close: the same sum ``smartpf_core.ValueTracker`` takes while the
backtest runs, for every candle, from the records alone (exact up to the float rounding of the sums,
and cheap: a cumulative sum per pair). The HODL shadow is rebuilt the same way from the initial
purchase (and the investment changes, which it mirrors).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from smartpf.backtest.candles import ffill_closes
from smartpf_core.records import Hodl

from .inputs import ReportInput

_CASH_FLOW = re.compile(r"investment (raised|lowered) by ([0-9.eE+-]+)")


@dataclass
class Series:
    times: np.ndarray  # candle close times, epoch seconds
    pairs: list[str]
    holdings: np.ndarray  # candles x pairs, after the fills of each candle
    last_close: np.ndarray  # candles x pairs, the last known close (0 before the first)
    cash: np.ndarray
    value: np.ndarray
    hodl: np.ndarray
    fees: np.ndarray  # cumulative
    trade_index: np.ndarray  # the candle of each trade, in record order
    cash_gap: float  # the engine's final cash minus the rebuilt one (money moved outside the records)
    started: np.ndarray  # bool per candle: the basket is bought (before it, weights mean nothing)

    @property
    def drawdown_pct(self) -> np.ndarray:
        peak = np.maximum.accumulate(self.value)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(peak > 0, (peak - self.value) / peak * 100.0, 0.0)

    @property
    def weights_pct(self) -> np.ndarray:
        coin_values = self.holdings * self.last_close
        with np.errstate(divide="ignore", invalid="ignore"):
            weights = np.where(self.value[:, None] > 0, coin_values / self.value[:, None] * 100.0, 0.0)
        weights[~self.started] = np.nan
        return weights


def cash_flow(kind: str, reason: str) -> float:
    """An investment change's amount (+ raised, - lowered), from its record's reason."""
    match = _CASH_FLOW.search(reason) if kind in ("deposit", "withdraw") else None
    if match is None:
        return 0.0
    amount = float(match.group(2))
    return amount if match.group(1) == "raised" else -amount


def initial_investment(data: ReportInput) -> float:
    """The principal before any investment change (the summary's is the final one)."""
    invested = float(data.summary.get("invested", data.spec.investment))
    return invested - sum(cash_flow(r.kind, r.reason) for r in data.records)


def rebuild(data: ReportInput) -> Series:
    times = np.asarray(data.times, dtype=np.float64)
    n = len(times)
    trades = [(r.kind, t) for r in data.records for t in r.trades]
    pairs = list(data.closes)
    for _, t in trades:
        if t.pair not in pairs:
            raise ValueError(f"a trade on {t.pair} but no candles for it")
    col = {p: k for k, p in enumerate(pairs)}
    k = len(pairs)
    last_close = np.column_stack([ffill_closes(np.asarray(data.closes[p], dtype=np.float64)) for p in pairs]) \
        if k else np.zeros((n, 0))
    trade_times = np.array([t.time for _, t in trades], dtype=np.float64)
    index = np.clip(np.searchsorted(times, trade_times, side="right") - 1, 0, max(n - 1, 0))
    dq = np.zeros((n, k))
    dcash = np.zeros(n)
    dfee = np.zeros(n)
    if trades:
        sign = np.array([1.0 if t.side == "buy" else -1.0 for _, t in trades])
        qty = np.array([t.amount for _, t in trades])
        price = np.array([t.price for _, t in trades])
        fee = np.array([t.fee for _, t in trades])
        np.add.at(dq, (index, np.array([col[t.pair] for _, t in trades])), sign * qty)
        np.add.at(dcash, index, -sign * qty * price - fee)
        np.add.at(dfee, index, fee)
    start_cash = initial_investment(data)
    flows = [(r, cash_flow(r.kind, r.reason)) for r in data.records if r.kind in ("deposit", "withdraw")]
    for record, amount in flows:
        dcash[_candle(times, record.started_at)] += amount
    holdings = np.cumsum(dq, axis=0)
    holdings[np.abs(holdings) < 1e-12 * np.maximum(1.0, np.abs(np.cumsum(np.abs(dq), axis=0)))] = 0.0
    cash = start_cash + np.cumsum(dcash)
    value = cash + (holdings * last_close).sum(axis=1)
    started = _started_mask(times, data.started_at)
    value = np.where(started, value, start_cash)
    hodl = _hodl_series(data, times, last_close, pairs, trades, index, flows, start_cash)
    hodl = np.where(started, hodl, start_cash)
    gap = 0.0 if data.final_cash is None or not n else float(data.final_cash - cash[-1])
    close_times = times + data.timeframe_seconds
    return Series(close_times, pairs, holdings, last_close, cash, value, hodl, np.cumsum(dfee), index, gap,
                  started)


def _candle(times: np.ndarray, at: float) -> int:
    return int(np.clip(np.searchsorted(times, at, side="right") - 1, 0, max(len(times) - 1, 0)))


def _started_mask(times: np.ndarray, started_at: float | None) -> np.ndarray:
    if started_at is None:
        return np.zeros(len(times), dtype=bool)
    return times >= _first_at_or_after(times, started_at)


def _first_at_or_after(times: np.ndarray, at: float) -> float:
    i = _candle(times, at)
    return float(times[i]) if len(times) else at


def _hodl_series(data: ReportInput, times: np.ndarray, last_close: np.ndarray, pairs: list[str], trades: list,
                 index: np.ndarray, flows: list, start_cash: float) -> np.ndarray:
    """The never-rebalanced basket: the initial purchase's fills, then the investment changes mirrored
    as the engine's HODL shadow does (``Hodl.deposit`` / ``Hodl.withdraw`` at the candle's open)."""
    n, k = last_close.shape
    events: list[tuple[int, int, str, object]] = []
    for seq, ((kind, trade), i) in enumerate(zip(trades, index.tolist(), strict=True)):
        if kind == "initial":
            events.append((i, seq, "fill", trade))
    for record, amount in flows:
        events.append((_candle(times, record.started_at), len(events) + len(trades), "flow", amount))
    events.sort(key=lambda e: (e[0], e[1]))
    shadow = Hodl(cash=start_cash)
    held = np.zeros((n, k))
    cash = np.full(n, start_cash)
    col = {p: j for j, p in enumerate(pairs)}
    for i, _, what, item in events:
        if what == "fill":
            t = item
            sign = 1.0 if t.side == "buy" else -1.0  # type: ignore[attr-defined]
            shadow.holdings[t.pair] = shadow.holdings.get(t.pair, 0.0) + sign * t.amount  # type: ignore
            shadow.cash -= sign * t.amount * t.price + t.fee  # type: ignore[attr-defined]
        else:
            prices = {p: _price(data, p, i, last_close[i, col[p]]) for p in pairs}
            if float(item) > 0:  # type: ignore[arg-type]
                shadow.deposit(float(item), data.spec.weights, prices, data.spec.fee)  # type: ignore[arg-type]
            else:
                shadow.withdraw(-float(item), prices, data.spec.fee)  # type: ignore[arg-type]
        for p, q in shadow.holdings.items():
            if p in col:
                held[i:, col[p]] = q
        cash[i:] = shadow.cash
    return cash + (held * last_close).sum(axis=1)


def _price(data: ReportInput, pair: str, i: int, fallback: float) -> float:
    value = float(data.opens[pair][i]) if pair in data.opens else float("nan")
    return value if value == value and value > 0 else fallback
