"""Candles prepared once (``PriceArrays``) and shared by many runs, as a sweep does, give every run exactly
the result it gets alone: the prepared arrays hold nothing a run can change."""

from __future__ import annotations

from smartpf.backtest.candles import Timerange, load_candles
from smartpf.backtest.fastsim import PriceArrays, simulate_fast

from .test_fastsim import assert_same, spec_of

PAIRS = ("BTC/USDT", "ETH/USDT", "SOL/USDT")


def test_shared_preparation_changes_no_run(datadir):
    candles = load_candles(datadir, list(PAIRS), "1h", Timerange.parse("20230101-20230401"))
    prepared = PriceArrays(candles.times, candles.opens, candles.closes)
    settings = [{"threshold": 0.5}, {"threshold": 5, "threshold_type": "relative"},
                {"mode": "scheduled", "interval": "1d"}, {"threshold": 1, "price_guard": 2, "take_profit": 20}]
    for section in settings + settings[::-1]:  # and again in reverse: no run leaves a trace for the next
        spec = spec_of(PAIRS, **section)
        alone = simulate_fast(spec, candles.times, candles.opens, candles.closes)
        shared = simulate_fast(spec, candles.times, candles.opens, candles.closes, prepared=prepared)
        assert_same(alone, shared)
