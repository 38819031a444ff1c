"""The completion rule: the tick on which the engine sees an operation complete is evaluated at once.

Replayed on real candles, in both executions: on every tick where an operation completes, the engine
evaluates the rules on that same tick; where the largest deviation then (the completed portfolio at that
tick's prices) is beyond the threshold, the next rebalance starts on that tick (or says its orders are too
small), and where it is within, the tick says so. The completion tick is the candle of the last fill in
``same-candle`` execution, and the next candle in ``next-candle`` execution (a fill is booked after the step
that sent its order, as in Freqtrade's backtesting; docs/architecture.md, "The completion rule"). The fast
engine's records are the step engine's.
"""

from __future__ import annotations

import math

import pytest

from smartpf.backtest.candles import Timerange, load_candles
from smartpf.backtest.fastsim import simulate_fast
from smartpf_core import Fill, Snapshot, actual_weights, largest_drift
from smartpf_core import events as ev
from smartpf_core.conventions import FREQTRADE
from smartpf_core.portfolio import Engine
from smartpf_core.records import trade_rows
from tests.unit.test_fastsim import SIX, spec_of

CASES = [
    ("1h-six-coins", "1h", SIX, "20230101-20230301", {"threshold": 2}),
    ("5m-four-coins-0.5pt", "5m", ("BTC/USDT", "ETH/USDT", "SOL/USDT", "DOGE/USDT"), "20250301-20250401",
     {"threshold": 0.5}),
]


def replay(spec, candles, rules, same_candle):
    """The core backtest's loop (``simulate`` / ``trade_tick``), watching every step."""
    engine = Engine(spec, rules)
    completions = []  # (time, the decision of the step that saw an operation complete, drift then)
    for i, now in enumerate(candles.times.tolist()):
        if i < FREQTRADE.first_trade_index:
            continue
        prices = {p: float(v[i]) for p, v in candles.opens.items() if FREQTRADE.tradable(float(v[i]))}
        snap = Snapshot(now, prices)
        for _ in range(8):
            decision = engine.step(snap)
            if any(n.kind.endswith("_finished") for n in decision.notices):
                ledger = engine.ledger
                weights = actual_weights(ledger.holdings, prices, ledger.cash, engine.pairs)
                completions.append((now, decision, largest_drift(weights, spec.weights, spec.threshold_type)))
            for order in decision.orders:
                price = prices[order.pair]
                engine.on_fill(Fill(order.id, order.amount, price, order.amount * price * spec.fee, now))
            if not (same_candle and decision.orders and engine.operation is not None):
                break
    return engine, completions


@pytest.mark.parametrize("execution", ["next-candle", "same-candle"])
@pytest.mark.parametrize("name, timeframe, pairs, timerange, section", CASES, ids=[c[0] for c in CASES])
def test_the_tick_an_operation_completes_on_is_evaluated(datadir, real_rules, name, timeframe, pairs, timerange,
                                                        section, execution):
    candles = load_candles(datadir, list(pairs), timeframe, Timerange.parse(timerange))
    spec = spec_of(pairs, **section)
    rules = {p: real_rules[p] for p in pairs}
    engine, completions = replay(spec, candles, rules, execution == "same-candle")
    rebalances = [r for r in engine.records if r.kind == "rebalance"]
    assert len(rebalances) >= 5 and len(completions) >= 5
    started_at = {r.started_at for r in rebalances}
    op_start = {r.id: r.started_at for r in engine.records}
    beyond = within = 0
    for now, decision, drift in completions:
        assert decision.reason is None or decision.reason.code not in (ev.IN_PROGRESS, ev.ORDER_OPEN)
        (done,) = [n for n in decision.notices if n.kind.endswith("_finished")]
        if op_start[done.data["op"]] == now and done.kind == "rebalance_finished":
            # same-candle: the check that started this rebalance was this tick's; one check per check interval
            assert decision.reason.code == ev.WAITING_FOR_CHECK and not decision.orders
            continue
        assert decision.checked, f"the completion tick {now} was not evaluated: {decision.reason}"
        if drift is not None and drift.size > spec.threshold + 1e-9:
            beyond += 1
            assert now in started_at or decision.reason.code == ev.ORDERS_TOO_SMALL, (now, drift)
        else:
            within += 1
            assert now not in started_at and decision.reason.code == ev.BELOW_THRESHOLD
    assert within > 0
    # the completion tick is the candle of the last fill (same-candle) or the next candle (next-candle)
    times = candles.times.tolist()
    for record in engine.records:
        if record.trades and record.finished_at is not None:
            last_fill = max(t.time for t in record.trades)
            expected = last_fill if execution == "same-candle" else times[times.index(last_fill) + 1]
            assert record.finished_at == expected, record.id
    fast = simulate_fast(spec, candles.times, candles.opens, candles.closes, rules=rules, execution=execution)
    assert trade_rows(fast.engine.records) == trade_rows(engine.records)
    assert [r.finished_at for r in fast.engine.records] == [r.finished_at for r in engine.records]
    assert not math.isnan(fast.final_value)
    if beyond:
        print(f"{name} {execution}: {beyond} completion ticks beyond the threshold, {within} within")
