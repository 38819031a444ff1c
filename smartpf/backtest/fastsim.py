"""The fast core backtest: the same engine, stepped only on the ticks where something can happen.

Between two operations the holdings and the cash are fixed, so the value, the weights, take-profit,
stop-loss, the wick guard's jump test and the schedule are vectorised functions of the prices. numpy
proposes the next tick where any of them *could* fire (with a safety margin, in blocks that grow while
nothing is found); the engine is stepped there, through its public interface, and decides exactly as in
the step-by-step simulator. Ticks that numpy proves quiet are skipped: ``Engine.skip_quiet`` brings the
engine's bookkeeping (the check index, the guard's accepted prices) to where stepping them would have.
Whenever the engine is not ``at_rest`` (an operation under way, a jump waiting for confirmation, a
missing price) every tick is stepped. No rule is written here: a false alarm costs one engine step, never
a different order. Values at the closes (and the drawdown) are computed in numpy with the same float
operations, in the same order, as ``smartpf_core.ValueTracker``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence

import numpy as np

from smartpf_core import Engine, MarketRules, PortfolioSpec, Reserves, SimResult, simulate
from smartpf_core.conventions import FREQTRADE
from smartpf_core.portfolio import AtRest
from smartpf_core.simulate import EXECUTIONS, sim_result, trade_tick
from smartpf_core.triggers import scheduled_index

ENGINES = ("fast", "step")
_FIRST_BLOCK = 512
_MAX_BLOCK = 1 << 16
_REL_MARGIN = 1e-7  # a trigger within this (relative) of its limit is checked by the engine itself
_ABS_MARGIN = 1e-7


def _ffill_closes(col: np.ndarray) -> np.ndarray:
    """The last known close at each candle, 0 before the first (ValueTracker's ``last_close.get(p, 0.0)``)."""
    known = ~np.isnan(col)
    if known.all():
        return col
    idx = np.where(known, np.arange(len(col)), -1)
    np.maximum.accumulate(idx, out=idx)
    out = np.where(idx >= 0, col[np.maximum(idx, 0)], 0.0)
    return out


class _Market:
    """The price arrays and everything about them that does not depend on the holdings."""

    def __init__(self, spec: PortfolioSpec, times: Sequence[float], opens: Mapping[str, Sequence[float]],
                 closes: Mapping[str, Sequence[float]]) -> None:
        self.times_list = np.asarray(times).tolist()
        self.times = np.asarray(times, dtype=np.float64)
        self.n = len(self.times_list)
        self.pairs = list(opens)
        self.rows = np.column_stack([np.asarray(opens[p], dtype=np.float64) for p in self.pairs]) \
            if self.n else np.zeros((0, len(self.pairs)))
        self.cols = {p: np.ascontiguousarray(self.rows[:, k]) for k, p in enumerate(self.pairs)}
        self.close_pairs = list(closes)
        self.last_close = {p: _ffill_closes(np.asarray(closes[p], dtype=np.float64)) for p in self.close_pairs}
        self.ever_closed = {p: bool((~np.isnan(np.asarray(closes[p], dtype=np.float64))).any())
                            for p in self.close_pairs}
        spec_cols = [self.cols[p] for p in spec.pairs if p in self.cols]
        valid = np.ones(self.n, dtype=bool)
        for col in spec_cols:
            valid &= np.isfinite(col) & (col > 0)
        if len(spec_cols) < len(spec.pairs):
            valid[:] = False  # a pair without prices: the engine never trades; step it everywhere
        # a tick the engine must see itself: a missing price now or just before, or a possible jump
        force = ~valid
        force[1:] |= ~valid[:-1]
        if spec.price_guard is not None and self.n > 1:
            limit = (spec.price_guard + 1e-9) * (1 - _REL_MARGIN)
            with np.errstate(divide="ignore", invalid="ignore"):
                for col in spec_cols:
                    move = np.abs(col[1:] / col[:-1] - 1.0) * 100.0
                    force[1:] |= ~(move <= limit)
        self.force = force
        # the first forced tick at or after each tick (n when none): a scheduled portfolio jumps straight on
        nxt = np.where(force, np.arange(self.n), self.n)
        self.next_force = np.minimum.accumulate(nxt[::-1])[::-1] if self.n else nxt
        self.check_index = np.floor(self.times / spec.check_interval + 1e-9)
        self.every_tick_checks = bool(self.n < 2 or (np.diff(self.check_index) > 0).all())

    def prices(self, i: int) -> dict[str, float]:
        """The engine's snapshot prices at tick ``i``: the open of every pair that has one."""
        return {p: v for p, v in zip(self.pairs, self.rows[i].tolist(), strict=True) if v == v}


class _Values:
    """The portfolio's value at each close, exactly as ``ValueTracker.observe`` computes it."""

    def __init__(self, market: _Market, investment: float) -> None:
        self.market = market
        self.values = np.full(market.n, investment, dtype=np.float64)

    def fill(self, engine: Engine, start: int, stop: int) -> None:
        if stop <= start or engine.started_at is None:
            return
        ledger = engine.ledger
        if stop == start + 1:  # one stepped candle: the same float operations on Python floats (no array set-up)
            one: float = 0
            for pair, qty in ledger.holdings.items():
                if qty:
                    col = self.market.last_close.get(pair)
                    one = one + (qty * float(col[start]) if col is not None else 0.0 * qty)
            self.values[start] = ledger.cash + one
            return
        total: np.ndarray | float = 0
        for pair, qty in ledger.holdings.items():
            if qty:
                closes = self.market.last_close.get(pair)
                total = total + (qty * closes[start:stop] if closes is not None else 0.0 * qty)
        self.values[start:stop] = ledger.cash + total

    def max_drawdown(self) -> float:
        values = self.values
        if not len(values):
            return 0.0
        peak = np.maximum.accumulate(values)
        with np.errstate(divide="ignore", invalid="ignore"):
            draw = np.where(peak > 0, (peak - values) / peak, 0.0)
        return max(0.0, float(draw.max()))


def _could_trade(cols: list[tuple[np.ndarray, float, float, float, float]], cash: float, k: int) -> bool:
    """At tick ``k``, could any order clear its minimum (the vectorised test below, for one tick)?"""
    value = cash
    for col, qty, _, _, _ in cols:
        value += qty * float(col[k])
    for col, qty, target, fixed, per_unit in cols:
        price = float(col[k])
        gap = qty * price - target * value
        distance = gap if gap > 0 else min(-gap, cash)
        if distance + 1e-9 >= max(fixed, per_unit * price) * (1 - _REL_MARGIN) - _ABS_MARGIN:
            return True
    return False


def _tradable_drift(drift: np.ndarray, cand: np.ndarray, cols: list[tuple[np.ndarray, float, float, float, float]],
                    cash: float, s: int, value_arr: np.ndarray) -> np.ndarray:
    """``drift`` kept only where some order could clear its minimum. The first drifting tick is tested alone
    (an unblocked portfolio trades there, and a later one cannot come first); a blocked one, in numpy."""
    first = int(drift.argmax())
    if cand[:first].any() or _could_trade(cols, cash, s + first):
        return drift  # the earliest candidate is already decided: the later drifting ticks cannot matter
    tradable = np.zeros(len(drift), dtype=bool)
    for col, qty, target, fixed, per_unit in cols:
        price = col[s:s + len(drift)]
        gap = qty * price - target * value_arr
        # a buy spends at most the idle cash (no sell can be sent to raise more: see _next_candidate)
        distance = np.where(gap > 0, gap, np.minimum(-gap, cash))
        minimum = np.maximum(fixed, per_unit * price)
        tradable |= distance + 1e-9 >= minimum * (1 - _REL_MARGIN) - _ABS_MARGIN
    return drift & tradable


def _order_minimums(engine: Engine, spec: PortfolioSpec) -> dict[str, tuple[float, float]]:
    """Per pair, the smallest order the planner sends at price P: max(fixed, per_unit x P) (``min_order_value``)."""
    out = {}
    for pair in {*spec.weights, *engine.rules}:
        rule = engine.rules.get(pair, MarketRules())
        order = engine.reserves.order
        out[pair] = (max(spec.min_trade, rule.min_notional * order), rule.min_amount * order)
    return out


def _next_candidate(rest: AtRest, market: _Market, start: int, minimums: Mapping[str, tuple[float, float]]) -> int:
    """The first tick at or after ``start`` where anything could happen for the engine at rest (or ``n``).

    A deviation beyond the threshold is a candidate only where some order could clear its minimum: every
    order the planner sends for a coin is at most that coin's distance to its target (a sell never sells
    more than the excess, nor a removed coin more than it holds; a buy never buys more than the deficit),
    so while every distance is under its minimum, the check says ``orders_too_small`` and changes nothing.
    """
    spec = rest.spec
    n = market.n
    held = [(p, market.cols[p], q, spec.weights.get(p, 0.0)) for p, q in rest.holdings.items()
            if q and p in market.cols]
    unpriced_holding = any(q and p not in market.cols for p, q in rest.holdings.items())
    if unpriced_holding:
        return start
    cash = rest.cash
    invested = rest.invested
    tp, sl = spec.take_profit, spec.stop_loss
    scheduled = spec.mode == "scheduled"
    threshold = spec.threshold
    bands = {p: spec.threshold_rule.band(w) for p, w in spec.weights.items()}
    margin = _REL_MARGIN * threshold / 100.0 + _ABS_MARGIN
    unheld_targets = [w for p, w in spec.weights.items() if not rest.holdings.get(p)]
    next_schedule = None
    if scheduled and rest.last_schedule is not None:
        # the first time the schedule index passes the last one checked (1e-6 early: a margin)
        due = rest.started_at + (rest.last_schedule + 1) * spec.interval
        next_schedule = int(np.searchsorted(market.times, due - 1e-6 * spec.interval, side="left"))
    last_check = rest.last_check
    # the coins a rebalance could trade: held ones and targeted ones, with what the planner needs of each
    tradable_cols = [(market.cols[p], rest.holdings.get(p, 0.0), w, *minimums.get(p, (0.0, 0.0)))
                     for p, w in spec.weights.items() if p in market.cols]
    tradable_cols += [(col, qty, 0.0, *minimums.get(p, (0.0, 0.0))) for p, col, qty, target in held if target <= 0]
    if scheduled and tp is None and sl is None and next_schedule is not None and (cash > 0 or held):
        # only a forced tick (a missing price, a possible jump) or a scheduled instant where some order could
        # clear its minimum can act: jump straight there (``skip_quiet`` books the instants passed over)
        forced = int(market.next_force[start]) if start < n else n
        while next_schedule < min(forced, n) and not _could_trade(tradable_cols, cash, next_schedule):
            due = rest.started_at + (scheduled_index(float(market.times_list[next_schedule]), rest.started_at,
                                                     spec.interval) + 1) * spec.interval
            next_schedule = int(np.searchsorted(market.times, due - 1e-6 * spec.interval, side="left"))
        return min(forced, next_schedule, n)
    block = _FIRST_BLOCK
    s = start
    while s < n:
        e = min(n, s + block)
        if next_schedule is not None and next_schedule < e:
            e = max(next_schedule, s)
            if e == s:
                return s
        cand = market.force[s:e].copy()
        value: np.ndarray | float = cash
        parts = []
        for _, col, qty, _ in held:
            x = qty * col[s:e]
            parts.append(x)
            value = value + x
        value_arr = np.broadcast_to(np.asarray(value, dtype=np.float64), (e - s,))
        cand |= ~(value_arr > 0)
        if invested > 0 and (tp is not None or sl is not None):
            rate = (value_arr - invested) / invested * 100.0
            if tp is not None:
                cand |= rate >= tp - 1e-9 - _REL_MARGIN * abs(tp) - _ABS_MARGIN
            if sl is not None:
                cand |= rate <= -sl + 1e-9 + _REL_MARGIN * abs(sl) + _ABS_MARGIN
        if not scheduled:
            drift = np.zeros(e - s, dtype=bool)
            for (pair, _, _, target), x in zip(held, parts, strict=True):
                band = bands.get(pair, 0.0) if target > 0 else 0.0
                drift |= np.abs(x - target * value_arr) > (band - margin) * value_arr
            for target in unheld_targets:  # a coin not held deviates by its whole target
                if target * 100.0 > threshold * (1 - _REL_MARGIN) - _ABS_MARGIN or spec.threshold_type == "relative":
                    drift[:] = True
            if not market.every_tick_checks:
                idx = market.check_index[s:e]
                boundary = np.empty(e - s, dtype=bool)
                boundary[1:] = idx[1:] > idx[:-1]
                boundary[0] = last_check is None or idx[0] > last_check
                drift &= boundary
            if drift.any():
                drift = _tradable_drift(drift, cand, tradable_cols, cash, s, value_arr)
            cand |= drift
        if cand.any():
            return s + int(np.argmax(cand))
        if next_schedule is not None and e == next_schedule:
            return e
        s = e
        block = min(block * 2, _MAX_BLOCK)
    return n


def simulate_fast(
    spec: PortfolioSpec,
    times: Sequence[float],
    opens: Mapping[str, Sequence[float]],
    closes: Mapping[str, Sequence[float]],
    rules: Mapping[str, MarketRules] | None = None,
    reserves: Reserves | None = None,
    first_trade_index: int = FREQTRADE.first_trade_index,
    execution: str = "next-candle",
    progress: Callable[[int, int], None] | None = None,
) -> SimResult:
    """``smartpf_core.simulate`` with the quiet ticks skipped: the same orders, at the same prices.
    ``progress(candle, candles)``, if given, is called about 200 times over the run (a progress bar)."""
    if execution not in EXECUTIONS:
        raise ValueError(f"execution {execution!r}: use one of {', '.join(EXECUTIONS)}")
    same_candle = execution == "same-candle"
    market = _Market(spec, times, opens, closes)
    engine = Engine(spec, rules, reserves)
    values = _Values(market, spec.investment)
    minimums = _order_minimums(engine, spec)
    fee = spec.fee
    n = market.n
    i = max(0, first_trade_index)
    every = max(1, n // 200)
    next_report = every if progress is not None else n + 1
    while i < n:
        if i >= next_report and progress is not None:
            progress(i, n)
            next_report = i + every
        prices = market.prices(i)
        trade_tick(engine, market.times_list[i], prices, fee, same_candle)
        values.fill(engine, i, i + 1)
        if engine.status == "terminated":
            values.fill(engine, i + 1, n)
            break
        rest = engine.at_rest(prices)
        if rest is None:
            i += 1
            continue
        k = _next_candidate(rest, market, i + 1, minimums)
        if k > i + 1:
            values.fill(engine, i + 1, k)
            engine.skip_quiet(market.times_list[k - 1], market.prices(k - 1))
        i = k
    if n and engine.started_at is None:
        values.values[:] = spec.investment
    final = float(values.values[-1]) if n else spec.investment
    if engine.started_at is None:
        hodl = spec.investment
    else:
        last = {p: float(market.last_close[p][-1]) for p in market.close_pairs if n and market.ever_closed[p]}
        hodl = engine.ledger.hodl.value(last)
    return sim_result(engine, spec, market.times_list, final, hodl, values.max_drawdown() * 100)


def run_backtest(engine: str, spec: PortfolioSpec, times: np.ndarray, opens: Mapping[str, np.ndarray],
                 closes: Mapping[str, np.ndarray], rules: Mapping[str, MarketRules] | None = None,
                 execution: str = "next-candle", progress: Callable[[int, int], None] | None = None,
                 ) -> tuple[SimResult, float]:
    """Run one engine over loaded arrays; also return ``simulation_seconds``: from the arrays to the result,
    the engine's own preparation included (the step engine's conversion to lists, the fast one's masks).
    ``progress`` is called by the fast engine only (the step engine is the core's plain loop)."""
    if engine not in ENGINES:
        raise ValueError(f"engine {engine!r}: use one of {', '.join(ENGINES)}")
    t0 = time.perf_counter()
    if engine == "fast":
        result = simulate_fast(spec, times, opens, closes, rules=rules, execution=execution, progress=progress)
    else:
        result = simulate(spec, times.tolist(), {p: opens[p].tolist() for p in opens},
                          {p: closes[p].tolist() for p in closes}, rules=rules, execution=execution)
    return result, time.perf_counter() - t0
