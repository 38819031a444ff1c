"""Run the same engine over price arrays: the core backtest.

Conventions follow Freqtrade's backtester so the two can be compared (``conventions.FREQTRADE``,
which the strategy follows too): every order fills at the
open of the candle of the tick it was decided in, with the fee on both sides; the first purchase
happens at the second candle (an entry signal on the first candle fills at the next open); a
two-phase rebalance sells at one candle and buys at the next (``execution="next-candle"``, the
default). ``execution="same-candle"`` fills the buys on the same candle as the sells, at the same open,
as a live bot does seconds apart: the engine is stepped again at the same tick until its operation is
done. Values are taken at each candle's close; a missing candle carries the last close forward for
valuation and blocks trading.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from .conventions import FREQTRADE
from .events import Decision, Fill, Snapshot
from .market import MarketRules, Reserves
from .metrics import ValueTracker
from .portfolio import Engine, profit_pct
from .spec import PortfolioSpec

EXECUTIONS = ("next-candle", "same-candle")
_SAME_CANDLE_ROUNDS = 8  # sells, buys, completion (+ an exit decided on completion): never more than a few


def trade_tick(engine: Engine, now: float, prices: Mapping[str, float], fee: float, same_candle: bool) -> Decision:
    """One tick of a backtest: step the engine and fill its orders at ``prices`` (the candle's open).

    With ``same_candle``, an operation that sent orders is stepped again at the same tick and prices, so its
    next phase fills on this candle too. Shared by this simulator and the fast one (``smartpf.backtest.fastsim``).
    """
    snap = Snapshot(now, prices)
    decision = engine.step(snap)
    rounds = 0
    while True:
        for order in decision.orders:
            price = prices[order.pair]
            engine.on_fill(Fill(order.id, order.amount, price, order.amount * price * fee, now))
        if not (same_candle and decision.orders and engine.operation is not None) or rounds >= _SAME_CANDLE_ROUNDS:
            return decision
        rounds += 1
        decision = engine.step(snap)


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


def simulate(
    spec: PortfolioSpec,
    times: Sequence[float],
    opens: Mapping[str, Sequence[float]],
    closes: Mapping[str, Sequence[float]],
    rules: Mapping[str, MarketRules] | None = None,
    reserves: Reserves | None = None,
    first_trade_index: int = FREQTRADE.first_trade_index,
    execution: str = "next-candle",
) -> SimResult:
    """Replay ``times`` (epoch seconds, one per candle) with NaN for a missing candle."""
    if execution not in EXECUTIONS:
        raise ValueError(f"execution {execution!r}: use one of {', '.join(EXECUTIONS)}")
    same_candle = execution == "same-candle"
    engine = Engine(spec, rules, reserves)
    pairs = list(opens)
    fee = spec.fee
    tracker = ValueTracker()
    open_cols = [opens[p] for p in pairs]
    close_cols = [closes[p] for p in pairs]
    for i, now in enumerate(times):
        if i >= first_trade_index:
            prices = {}
            for pair, col in zip(pairs, open_cols, strict=True):
                price = col[i]
                if FREQTRADE.tradable(price):
                    prices[pair] = price
            trade_tick(engine, now, prices, fee, same_candle)
        tracker.observe(engine, {pair: col[i] for pair, col in zip(pairs, close_cols, strict=True)})
    value = tracker.value if tracker.value is not None else spec.investment
    return sim_result(engine, spec, times, value, tracker.hodl_value(engine), tracker.max_drawdown * 100)


def sim_result(engine: Engine, spec: PortfolioSpec, times: Sequence[float], value: float, hodl: float,
               max_drawdown_pct: float) -> SimResult:
    """The result of a run from the engine's ledger and the values at the closes (both simulators)."""
    invested = engine.ledger.invested
    metrics = engine.metrics()
    return SimResult(
        start=float(times[0]) if len(times) else 0.0,
        end=float(times[-1]) if len(times) else 0.0,
        ticks=len(times),
        invested=invested,
        final_value=value,
        hodl_value=hodl,
        profit_pct=profit_pct(value, invested),
        hodl_profit_pct=profit_pct(hodl, invested),
        rebalances=metrics.rebalances,
        orders=metrics.orders,
        fees=metrics.fees,
        turnover=metrics.turnover,
        max_drawdown_pct=max_drawdown_pct,
        engine=engine,
    )
