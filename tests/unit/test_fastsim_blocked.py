"""The fast engine through blocked stretches (a deviation beyond the threshold whose orders are all under the
minimum) and scheduled portfolios: the same records, summary and final state as the step engine, in both
executions (the cases of benchmarks/fast_backtest.py D, E, F)."""

from __future__ import annotations

import pytest

from smartpf.backtest.candles import Timerange, load_candles
from tests.unit.test_fastsim import assert_same, both, spec_of

EIGHT = ("BTC/USDT", "ETH/USDT", "SOL/USDT", "XRP/USDT", "ADA/USDT", "DOGE/USDT", "LTC/USDT", "LINK/USDT")
CASES = [
    ("15m-8-coins-37.5-each", "15m", EIGHT, "20230401-20240401", {"threshold": 1, "investment": 300}),
    ("1h-2-coins-100", "1h", ("BTC/USDT", "ETH/USDT"), "20240101-20250101", {"threshold": 2, "investment": 100}),
    ("1h-2-coins-100-relative", "1h", ("BTC/USDT", "ETH/USDT"), "20240101-20250101",
     {"threshold": 5, "threshold_type": "relative", "investment": 100}),
    ("1h-2-coins-100-scheduled-4h", "1h", ("BTC/USDT", "ETH/USDT"), "20240101-20250101",
     {"mode": "scheduled", "interval": "4h", "investment": 100}),
    ("1h-2-coins-scheduled-1d-guard-2", "1h", ("BTC/USDT", "ETH/USDT"), "20240101-20250101",
     {"mode": "scheduled", "interval": "1d", "investment": 1000, "price_guard": 2}),
]


@pytest.mark.parametrize("execution", ["next-candle", "same-candle"])
@pytest.mark.parametrize("name, timeframe, pairs, timerange, section", CASES, ids=[c[0] for c in CASES])
def test_fast_equals_step_when_blocked_or_scheduled(datadir, real_rules, name, timeframe, pairs, timerange,
                                                    section, execution):
    candles = load_candles(datadir, list(pairs), timeframe, Timerange.parse(timerange))
    spec = spec_of(pairs, **section)
    step, fast = both(spec, candles.times, candles.opens, candles.closes, {p: real_rules[p] for p in pairs},
                      execution)
    assert_same(step, fast)
    assert fast.rebalances >= 1
