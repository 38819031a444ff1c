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


def test_a_run_pauses_the_collector_and_leaves_no_cycle(datadir):
    """``run_backtest`` pauses the cycle collector for a run: that is sound only while a run makes no reference
    cycle (reference counting then frees everything), and it must give the collector back as it found it."""
    import gc

    from smartpf.backtest.fastsim import run_backtest

    candles = load_candles(datadir, list(PAIRS), "1h", Timerange.parse("20230101-20230401"))
    settings = [{"threshold": 0.5}, {"mode": "scheduled", "interval": "1d"},
                {"threshold": 1, "price_guard": 2, "take_profit": 20}, {"threshold": 1, "min_benefit": 1},
                {"threshold": 1, "weights": "inverse_volatility"}]
    gc.collect()
    for engine in ("fast", "step"):
        for section in settings:
            assert gc.isenabled()
            result, _ = run_backtest(engine, spec_of(PAIRS, **section), candles.times, candles.opens,
                                     candles.closes)
            assert result.rebalances > 0 or section.get("mode") == "scheduled"
            assert gc.isenabled()
            del result
            assert gc.collect() == 0, (engine, section)
    gc.disable()
    try:
        run_backtest("fast", spec_of(PAIRS, threshold=1), candles.times, candles.opens, candles.closes)
        assert not gc.isenabled()  # (a caller that paused it keeps it paused)
    finally:
        gc.enable()
