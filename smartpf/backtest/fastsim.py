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

import gc
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager

import numpy as np

from smartpf.backtest.candles import ffill_closes
from smartpf_core import Engine, MarketRules, PortfolioSpec, Reserves, SimResult, gate, simulate
from smartpf_core.conventions import FREQTRADE
from smartpf_core.portfolio import AtRest
from smartpf_core.simulate import EXECUTIONS, sim_result, trade_tick
from smartpf_core.triggers import scheduled_index

ENGINES = ("fast", "step")
_FIRST_BLOCK = 128  # (the next candidate is most often a few ticks away)
_MAX_BLOCK = 1 << 16
_REL_MARGIN = 1e-7  # a trigger within this (relative) of its limit is checked by the engine itself
_ABS_MARGIN = 1e-7


class PriceArrays:
    """The candle arrays in the shapes the fast engine reads, prepared once for any number of runs.

    Nothing here depends on the settings, so a sweep (many settings over the same candles) prepares them
    once per basket and window instead of once per run: about a tenth of a short run's time."""

    def __init__(self, times: Sequence[float], opens: Mapping[str, Sequence[float]],
                 closes: Mapping[str, Sequence[float]]) -> None:
        self.times_list = np.asarray(times).tolist()
        self.times = np.asarray(times, dtype=np.float64)
        self.n = len(self.times_list)
        self.pairs = list(opens)
        self.column = {p: k for k, p in enumerate(self.pairs)}
        self.rows = np.column_stack([np.asarray(opens[p], dtype=np.float64) for p in self.pairs]) \
            if self.n else np.zeros((0, len(self.pairs)))
        # the opens pair by pair: one contiguous row each (a block of several coins is one slice)
        self.by_pair = np.ascontiguousarray(self.rows.T)
        self.cols = {p: self.by_pair[k] for k, p in enumerate(self.pairs)}
        self.close_pairs = list(closes)
        self.last_close = {p: ffill_closes(np.asarray(closes[p], dtype=np.float64)) for p in self.close_pairs}
        self.ever_closed = {p: bool((~np.isnan(np.asarray(closes[p], dtype=np.float64))).any())
                            for p in self.close_pairs}


class _Market:
    """The price arrays and everything about them that does not depend on the holdings."""

    def __init__(self, spec: PortfolioSpec, arrays: PriceArrays) -> None:
        self.times_list = arrays.times_list
        self.times = arrays.times
        self.n = arrays.n
        self.pairs = arrays.pairs
        self.rows = arrays.rows
        self.cols = arrays.cols
        self.by_pair = arrays.by_pair
        self.column = arrays.column
        self.close_pairs = arrays.close_pairs
        self.last_close = arrays.last_close
        self.ever_closed = arrays.ever_closed
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
        self.spec_bands = _bands(spec, spec.weights)  # (the settings' weights: the same for the whole run)

    def prices(self, i: int) -> dict[str, float]:
        """The engine's snapshot prices at tick ``i``: the open of every pair that has one."""
        return {p: v for p, v in zip(self.pairs, self.rows[i].tolist(), strict=True) if v == v}


def _bands(spec: PortfolioSpec, weights: Mapping[str, float]) -> tuple[dict[str, float], dict[str, float]]:
    """Per pair of ``weights``, its band (a fraction of the portfolio) and its threshold's size."""
    return ({p: spec.threshold_for(p).band(w) for p, w in weights.items()},
            {p: spec.threshold_for(p).size for p in weights})


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
            closes = self.market.last_close
            for pair, qty in ledger.holdings.items():
                if qty:
                    col = closes.get(pair)
                    one = one + (qty * col.item(start) if col is not None else 0.0 * qty)
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
        value += qty * col.item(k)
    for col, qty, target, fixed, per_unit in cols:
        price = col.item(k)
        gap = qty * price - target * value
        distance = gap if gap > 0 else min(-gap, cash)
        if distance + 1e-9 >= max(fixed, per_unit * price) * (1 - _REL_MARGIN) - _ABS_MARGIN:
            return True
    return False


def _tradable_drift(drift: np.ndarray, cand: np.ndarray, cols: list[tuple[np.ndarray, float, float, float, float]],
                    cash: float, s: int, value_arr: np.ndarray,
                    partial: list[np.ndarray | None] | None = None, scale: np.ndarray | None = None) -> np.ndarray:
    """``drift`` kept only where some order could clear its minimum. The first drifting tick is tested alone
    (an unblocked portfolio trades there, and a later one cannot come first); a blocked one, in numpy.

    ``partial``: for a rebalance that moves the coins only part of the way (``rebalance_to``,
    smartpf_core.gate), the weight each coin of ``cols`` moves to at each tick (None: its target); ``scale``: the
    share of the way a turnover cap lets it go (``_scale``)."""
    first = int(drift.argmax())
    if partial is None and scale is None and (cand[:first].any() or _could_trade(cols, cash, s + first)):
        return drift  # the earliest candidate is already decided: the later drifting ticks cannot matter
    tradable = np.zeros(len(drift), dtype=bool)
    for k, (col, qty, target, fixed, per_unit) in enumerate(cols):
        price = col[s:s + len(drift)]
        gap = qty * price - target * value_arr
        # a buy spends at most the idle cash (no sell can be sent to raise more: see _next_candidate)
        moved = None if partial is None else partial[k]
        if moved is not None:  # (the core computes these weights in Python floats: a margin for the last bits)
            gap = qty * price - moved * value_arr
            gap = gap + np.abs(gap) * 1e-6 * np.sign(gap)
        if scale is not None:  # (the cap shrinks each move; a buy is still bounded by the idle cash)
            gap = gap * scale
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


def _worth_it(spec: PortfolioSpec, held: list[tuple[str, np.ndarray, float, float]], parts: list[np.ndarray],
              value_arr: np.ndarray) -> np.ndarray | None:
    """Where ``min_benefit`` could let a full rebalance through (the core's own estimate, on arrays, with a
    margin), or None when it cannot be told here (a partial rebalance, a turnover cap, a removed coin held)."""
    g = spec.gate
    if g.min_benefit is None or g.max_turnover is not None or g.rebalance_to != "target" \
            or any(target <= 0 for _, _, _, target in held):
        return None
    with np.errstate(divide="ignore", invalid="ignore"):
        actual = {pair: x / value_arr for (pair, _, _, _), x in zip(held, parts, strict=True)}
    spreads = {p: g.spread_of(gate.coin_of(p)) for p in {*actual, *spec.weights}}
    benefit, fees, spread = gate.estimate(actual, dict(spec.weights), spec.weights, spec.fee, spreads)  # type: ignore[arg-type]
    cost = np.asarray(fees + spread)
    return ~(np.asarray(benefit) < g.min_benefit * cost * (1 - 1e-6) - 1e-12)


def _partial(spec: PortfolioSpec, held: list[tuple[str, np.ndarray, float, float]], parts: list[np.ndarray],
             value_arr: np.ndarray, bands: Mapping[str, float], priced: Mapping[str, np.ndarray],
             removed: int) -> list[np.ndarray | None] | None:
    """For ``rebalance_to`` halfway or band_edge: per coin of the tradable columns (the targeted coins with prices,
    then ``removed`` coins held without a target), the weight a rebalance moves it to at each tick, as
    ``gate.partial_targets`` computes it; None for a full rebalance."""
    mode = spec.gate.rebalance_to
    if mode == "target":
        return None
    held_x = {pair: x for (pair, _, _, _), x in zip(held, parts, strict=True)}
    with np.errstate(divide="ignore", invalid="ignore"):
        actual = {p: held_x[p] / value_arr if p in held_x else np.zeros(len(value_arr)) for p in spec.weights}
        if mode == "halfway":
            factor: np.ndarray | float = 0.5
        else:
            worst = np.zeros(len(value_arr))
            for pair, w in spec.weights.items():
                if bands.get(pair, 0) > 0:
                    worst = np.maximum(worst, np.abs(actual[pair] - w) / bands[pair])
            factor = np.where(worst > 0, np.minimum(1.0, gate.EDGE / worst), 0.0)
        moved = {p: w + factor * (actual[p] - w) for p, w in spec.weights.items()}
        total: np.ndarray | float = 0.0
        for v in moved.values():
            total = total + v
        out: list[np.ndarray | None] = [moved[p] / total for p in spec.weights if p in priced]
    return out + [None] * removed


def _scale(cols: list[tuple[np.ndarray, float, float, float, float]], partial: list[np.ndarray | None] | None,
           s: int, value_arr: np.ndarray, room: np.ndarray) -> np.ndarray:
    """The share of the way to its weights a rebalance may go under ``max_turnover`` (the core scales every coin's
    move by room / wanted), with a margin; 1 where it fits."""
    wanted: np.ndarray | float = 0.0
    for k, (col, qty, target, _, _) in enumerate(cols):
        moved = None if partial is None else partial[k]
        x = qty * col[s:s + len(value_arr)]
        wanted = wanted + np.abs(x - (target if moved is None else moved) * value_arr)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(wanted > 0, np.minimum(1.0, np.maximum(room, 0.0) / wanted), 1.0)
    return np.minimum(1.0, share * (1 + 1e-6) + 1e-9)


def _turnover(spec: PortfolioSpec, records: list, since: float) -> tuple[np.ndarray, np.ndarray] | None:
    """For ``max_turnover``: the rebalances' trade times since ``since`` - 30 days, sorted, and the value traded
    at or after each (so that the value in any window ending later is one lookup)."""
    if spec.gate.max_turnover is None:
        return None
    trades = []
    for record in reversed(records):
        if record.finished_at is not None and record.finished_at < since - gate.TURNOVER_WINDOW:
            break
        if record.kind == "rebalance":
            trades += [(t.time, t.value) for t in record.trades]
    trades.sort()
    times = np.array([t for t, _ in trades], dtype=np.float64)
    after = np.cumsum(np.array([v for _, v in trades] + [0.0], dtype=np.float64)[::-1])[::-1]
    return times, after


def _next_candidate(rest: AtRest, market: _Market, start: int, minimums: Mapping[str, tuple[float, float]],
                    until: float | None = None, turnover: tuple[np.ndarray, np.ndarray] | None = None) -> int:
    """The first tick at or after ``start`` where anything could happen for the engine at rest (or ``n``).

    A deviation beyond the threshold is a candidate only where some order could clear its minimum: every
    order the planner sends for a coin is at most that coin's distance to its target (a sell never sells
    more than the excess, nor a removed coin more than it holds; a buy never buys more than the deficit),
    so while every distance is under its minimum, the check says ``orders_too_small`` and changes nothing.
    Before ``until`` (a cooldown, ``smartpf_core.gate``) and where ``min_benefit`` holds it back, a deviation
    starts nothing either.
    """
    spec = rest.spec
    weights = rest.targets if rest.targets is not None else spec.weights  # (computed ones: inverse volatility)
    plan = rest.plan_targets if rest.plan_targets is not None else weights  # what a rebalance would trade towards
    n = market.n
    held = []
    for p, q in rest.holdings.items():
        if q:
            if p not in market.cols:
                return start  # a coin held without prices: the engine steps every tick
            held.append((p, market.cols[p], q, weights.get(p, 0.0)))
    cash = rest.cash
    invested = rest.invested
    tp, sl = spec.take_profit, spec.stop_loss
    scheduled = spec.mode == "scheduled"
    gated = spec.gate.gates  # (without options, a drift goes straight to the minimums' test)
    if gated and (rest.plan_targets is not None or dict(weights) != dict(spec.weights)):
        return start  # gates over computed or frozen-out weights: the engine checks every tick itself
    threshold = max((spec.threshold, *(t for _, t in spec.gate.bands)))
    bands, sizes = market.spec_bands if weights == spec.weights else _bands(spec, weights)
    margin = _REL_MARGIN * threshold / 100.0 + _ABS_MARGIN
    unheld_targets = [(w, sizes[p]) for p, w in weights.items() if not rest.holdings.get(p)]
    # the held coins as columns of one array: their quantities, targets and (band - margin) (0 - margin for a
    # coin without a target), so that the drift of every coin is a few operations on a block
    held_idx: list[int] | slice = [market.column[p] for p, _, _, _ in held]
    if held_idx and held_idx == list(range(held_idx[0], held_idx[0] + len(held_idx))):
        held_idx = slice(held_idx[0], held_idx[0] + len(held_idx))  # (a view, not a copy)
    columns = np.array([(q, t, (bands.get(p, 0.0) if t > 0 else 0.0) - margin) for p, _, q, t in held],
                       dtype=np.float64).reshape(-1, 3)
    held_qty, held_target, held_limit = columns[:, 0:1], columns[:, 1:2], columns[:, 2:3]
    next_schedule = None
    if scheduled and rest.last_schedule is not None:
        # the first time the schedule index passes the last one checked (1e-6 early: a margin)
        due = rest.started_at + (rest.last_schedule + 1) * spec.interval
        next_schedule = int(np.searchsorted(market.times, due - 1e-6 * spec.interval, side="left"))
    last_check = rest.last_check
    # the coins a rebalance could trade: held ones and targeted ones, with what the planner needs of each
    tradable_cols = [(market.cols[p], rest.holdings.get(p, 0.0), w, *minimums.get(p, (0.0, 0.0)))
                     for p, w in plan.items() if p in market.cols]
    tradable_cols += [(col, qty, 0.0, *minimums.get(p, (0.0, 0.0))) for p, col, qty, target in held if target <= 0]
    removed = sum(1 for _, _, _, target in held if target <= 0)
    if scheduled and tp is None and sl is None and next_schedule is not None and (cash > 0 or held):
        # only a forced tick (a missing price, a possible jump) or a scheduled instant where some order could
        # clear its minimum can act: jump straight there (``skip_quiet`` books the instants passed over)
        forced = int(market.next_force[start]) if start < n else n
        while next_schedule < min(forced, n) and not _could_trade(tradable_cols, cash, next_schedule):
            due = rest.started_at + (scheduled_index(float(market.times_list[next_schedule]), rest.started_at,
                                                     spec.interval) + 1) * spec.interval
            next_schedule = int(np.searchsorted(market.times, due - 1e-6 * spec.interval, side="left"))
        return min(forced, next_schedule, n)
    s = start
    block = _FIRST_BLOCK
    while s < n:
        e = min(n, s + block)
        if next_schedule is not None and next_schedule < e:
            e = max(next_schedule, s)
            if e == s:
                return s
        cand = market.force[s:e].copy()
        # each held coin's value, and the portfolio's: cash + x1 + x2 + ..., in the order of the holdings
        x_all = market.by_pair[held_idx, s:e] * held_qty
        value_arr = np.full(e - s, cash, dtype=np.float64)
        for x in x_all:
            value_arr += x
        parts = list(x_all) if gated else []
        cand |= ~(value_arr > 0)
        if invested > 0 and (tp is not None or sl is not None):
            rate = (value_arr - invested) / invested * 100.0
            if tp is not None:
                cand |= rate >= tp - 1e-9 - _REL_MARGIN * abs(tp) - _ABS_MARGIN
            if sl is not None:
                cand |= rate <= -sl + 1e-9 + _REL_MARGIN * abs(sl) + _ABS_MARGIN
        if not scheduled:
            drift = (np.abs(x_all - held_target * value_arr) > held_limit * value_arr).any(axis=0)
            for target, own in unheld_targets:  # a coin not held deviates by its whole target
                if target * 100.0 > own * (1 - _REL_MARGIN) - _ABS_MARGIN or spec.threshold_type == "relative":
                    drift[:] = True
            if not market.every_tick_checks:
                idx = market.check_index[s:e]
                boundary = np.empty(e - s, dtype=bool)
                boundary[1:] = idx[1:] > idx[:-1]
                boundary[0] = last_check is None or idx[0] > last_check
                drift &= boundary
            if until is not None:
                drift &= market.times[s:e] >= until - 1e-3
            room = None
            if gated and drift.any() and turnover is not None and spec.gate.max_turnover is not None:
                # the cap holds a rebalance back while the last 30 days' trades use 99.5 % of it or more
                times_, after = turnover
                used = after[np.searchsorted(times_, market.times[s:e] - gate.TURNOVER_WINDOW, side="left")]
                cap = spec.gate.max_turnover / 100.0 * value_arr
                drift &= used < 0.995 * cap * (1 + 1e-6) + 1e-9
                room = cap - used
            if gated and drift.any():
                worth = _worth_it(spec, held, parts, value_arr)
                if worth is not None:
                    drift &= worth
            if drift.any():
                partial = _partial(spec, held, parts, value_arr, bands, market.cols, removed) if gated else None
                scale = None if room is None else _scale(tradable_cols, partial, s, value_arr, room)
                drift = _tradable_drift(drift, cand, tradable_cols, cash, s, value_arr, partial, scale)
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
    prepared: PriceArrays | None = None,
) -> SimResult:
    """``smartpf_core.simulate`` with the quiet ticks skipped: the same orders, at the same prices.
    ``progress(candle, candles)``, if given, is called about 200 times over the run (a progress bar).
    ``prepared``: the same candles already as ``PriceArrays`` (then ``times``/``opens``/``closes`` are unused)."""
    if execution not in EXECUTIONS:
        raise ValueError(f"execution {execution!r}: use one of {', '.join(EXECUTIONS)}")
    same_candle = execution == "same-candle"
    market = _Market(spec, prepared if prepared is not None else PriceArrays(times, opens, closes))
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
        k = _next_candidate(rest, market, i + 1, minimums, gate.quiet_until(spec.gate, engine.records),
                            _turnover(spec, engine.records, market.times_list[i]))
        if rest.wake_at is not None:  # a time-driven rule (a recurring deposit): step the engine there; its
            # tick may have left a due schedule unchecked, which ``_next_candidate`` then finds at or before i
            k = max(i + 1, min(k, int(np.searchsorted(market.times, rest.wake_at, side="left"))))
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
                 prepared: PriceArrays | None = None) -> tuple[SimResult, float]:
    """Run one engine over loaded arrays; also return ``simulation_seconds``: from the arrays to the result,
    the engine's own preparation included (the step engine's conversion to lists, the fast one's masks).
    ``progress`` is called by the fast engine only (the step engine is the core's plain loop).
    ``prepared``: ``PriceArrays`` of these same candles, shared by the runs of a sweep (fast engine only;
    its preparation time is then the caller's to count)."""
    if engine not in ENGINES:
        raise ValueError(f"engine {engine!r}: use one of {', '.join(ENGINES)}")
    t0 = time.perf_counter()
    with _collector_paused():
        if engine == "fast":
            result = simulate_fast(spec, times, opens, closes, rules=rules, execution=execution, progress=progress,
                                   prepared=prepared)
        else:
            result = simulate(spec, times.tolist(), {p: opens[p].tolist() for p in opens},
                              {p: closes[p].tolist() for p in closes}, rules=rules, execution=execution)
    return result, time.perf_counter() - t0


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cycle collector paused for one run (either engine), as it was before after it.

    A run makes hundreds of thousands of small objects (orders, fills, records) and no reference cycle:
    reference counting frees every one of them, and the collector's passes over them (more of them as a
    sweep keeps its results) found nothing to free while costing 3-5 % of a sweep
    (tests/unit/test_fastsim_prepared.py checks that a run leaves no cycle behind)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()
