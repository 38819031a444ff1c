"""The fast core backtest beside the step engine, in one run: simulation_seconds (median of --repeat runs).

Cases (issue 14's targets):
  A. 5m candles x 8 pairs x 2025 (one year): fast at least 20x the step engine;
  B. 1m x 5 pairs x 30 days (the shared 1m set): fast at least 10 million asset-candles per second;
  A'. the same at threshold 0.5 point: fast at least 20x the step engine (issue 20);
  D, E, F. blocked rather than quiet (issue 20): 15m x 8 pairs at 37.5 USDT a coin, threshold 1; 1h x 2 pairs
     at 100 USDT, threshold 2; the same scheduled every 4h: fast never slower, at least 3x on D and E;
  C. 100 thresholds (0.25 to 25 points, absolute) over 1h 2018-06-01..2026-05-01 x 5 pairs: under 5 s of
     simulation in total on one core (runs one after another). The step engine runs --step-sweep of
     them (default 3, spread over the range) and its total is extrapolated to 100; --step-sweep 100 runs all.
Every fast run is checked against the step run of the same case: the same trading records, the same summary.
simulation_seconds: from the loaded arrays to the result, preparation included, loading excluded (the
figure ``smartpf backtest --json`` reports). The machine may be shared: medians, and say so.

Run: .venv/bin/python benchmarks/fast_backtest.py [--repeat 5] [--step-sweep 3]
"""

from __future__ import annotations

import argparse
import statistics
import time

from smartpf import paths
from smartpf.backtest.candles import Timerange, load_candles
from smartpf.backtest.fastsim import PriceArrays, run_backtest
from smartpf.markets import load_rules
from smartpf_core import parse_settings
from smartpf_core.records import trade_rows

EIGHT = ["BTC/USDT", "ETH/USDT", "BNB/USDT", "SOL/USDT", "XRP/USDT", "ADA/USDT", "DOGE/USDT", "LTC/USDT"]
MAJORS = ["BTC/USDT", "ETH/USDT", "BNB/USDT", "SOL/USDT", "XRP/USDT"]
LONG = ["BTC/USDT", "ETH/USDT", "XRP/USDT", "ADA/USDT", "LTC/USDT"]
SWEEP = [0.25 * k for k in range(1, 101)]
BLOCKED8 = ["BTC/USDT", "ETH/USDT", "SOL/USDT", "XRP/USDT", "ADA/USDT", "DOGE/USDT", "LTC/USDT", "LINK/USDT"]


def spec_for(pairs: list[str], **section: object):
    body: dict = {"assets": {p.split("/")[0]: 100 / len(pairs) for p in pairs}, "investment": 10000, **section}
    result = parse_settings({"stake_currency": "USDT", "fee": 0.001, "smart_portfolio": body})
    assert result.ok, result.lines()
    return result.spec


def summary(result) -> dict:
    return {k: v for k, v in vars(result).items() if k != "engine"}


def timed(engine: str, spec, candles, rules, repeat: int):
    seconds = []
    result = None
    for _ in range(repeat):
        result, s = run_backtest(engine, spec, candles.times, candles.opens, candles.closes, rules=rules)
        seconds.append(s)
    return result, statistics.median(seconds)


def same(a, b) -> bool:
    return trade_rows(a.engine.records) == trade_rows(b.engine.records) and summary(a) == summary(b)


def case(title: str, pairs: list[str], timeframe: str, timerange: str, repeat: int, rules, **section) -> None:
    candles = load_candles(paths.DEFAULT_DATADIR, pairs, timeframe, Timerange.parse(timerange))
    spec = spec_for(pairs, **section)
    cells = len(candles) * len(pairs)
    step, step_s = timed("step", spec, candles, rules, repeat)
    fast, fast_s = timed("fast", spec, candles, rules, repeat)
    print(f"{title}: {len(candles):,} candles x {len(pairs)} pairs = {cells:,} asset-candles, "
          f"{fast.rebalances} rebalances, {fast.orders} orders; identical: {same(step, fast)}")
    print(f"  step  median {step_s:8.4f} s  {cells / step_s:>14,.0f} asset-candles/s")
    print(f"  fast  median {fast_s:8.4f} s  {cells / fast_s:>14,.0f} asset-candles/s   {step_s / fast_s:6.1f}x step")


def sweep(repeat: int, step_runs: int, rules) -> None:
    candles = load_candles(paths.DEFAULT_DATADIR, LONG, "1h", Timerange.parse("20180601-20260501"))
    cells = len(candles) * len(LONG)
    totals = []
    results = {}
    for _ in range(repeat):
        t0 = time.perf_counter()  # the candles as the fast engine reads them: once for the sweep, counted once
        prepared = PriceArrays(candles.times, candles.opens, candles.closes)
        total = time.perf_counter() - t0
        for threshold in SWEEP:
            result, s = run_backtest("fast", spec_for(LONG, threshold=threshold), candles.times, candles.opens,
                                     candles.closes, rules=rules, prepared=prepared)
            total += s
            results[threshold] = result
        totals.append(total)
    fast_total = statistics.median(totals)
    picks = [SWEEP[round(i * (len(SWEEP) - 1) / max(1, step_runs - 1))] for i in range(step_runs)]
    step_seconds = []
    identical = True
    for threshold in picks:
        result, s = run_backtest("step", spec_for(LONG, threshold=threshold), candles.times, candles.opens,
                                 candles.closes, rules=rules)
        step_seconds.append(s)
        identical &= same(result, results[threshold])
    step_total = sum(step_seconds) / len(step_seconds) * len(SWEEP)
    picked = ", ".join(map(str, picks))
    label = "measured" if step_runs >= len(SWEEP) else f"extrapolated from {step_runs} runs ({picked})"
    print(f"C. sweep of {len(SWEEP)} thresholds ({SWEEP[0]}..{SWEEP[-1]} points), 1h 2018-06..2026-05 x "
          f"{len(LONG)} pairs ({len(candles):,} candles, {cells:,} asset-candles per run); "
          f"rebalances from {results[SWEEP[-1]].rebalances} to {results[SWEEP[0]].rebalances}; "
          f"step runs identical: {identical}")
    print(f"  step  total {step_total:8.2f} s  ({label})")
    print(f"  fast  total {fast_total:8.2f} s  (median of {repeat} sweeps, one core)   "
          f"{step_total / fast_total:6.1f}x step")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--step-sweep", type=int, default=3)
    parser.add_argument("--only", default="ABCDEF", help="the cases to run, e.g. DEF")
    args = parser.parse_args()
    rules = load_rules(paths.DEFAULT_MARKETS)
    print(f"smartpf backtest engines, simulation_seconds (median of {args.repeat}; shared machine: other work "
          "runs beside it)")
    if "A" in args.only:
        case("A. 5m x 8 pairs x 2025, threshold 1 point", EIGHT, "5m", "20250101-20260101", args.repeat, rules,
             threshold=1)
    if "A" in args.only:
        case("A'. 5m x 8 pairs x 2025, threshold 0.5 point", EIGHT, "5m", "20250101-20260101", args.repeat, rules,
             threshold=0.5)
    if "B" in args.only:
        case("B. 1m x 5 pairs x 30 days, threshold 1 point", MAJORS, "1m", "", args.repeat, rules, threshold=1)
    if "C" in args.only:
        sweep(max(1, args.repeat // 2), args.step_sweep, rules)
    # blocked rather than quiet: a deviation beyond the threshold whose orders are under the minimum
    if "D" in args.only:
        case("D. blocked: 15m x 8 pairs x 2023-04..2024-04, 300 USDT (37.5 a coin), threshold 1 point", BLOCKED8,
             "15m", "20230401-20240401", args.repeat, rules, threshold=1, investment=300)
    if "E" in args.only:
        case("E. blocked: 1h x BTC/ETH x 2024, 100 USDT, threshold 2 points", ["BTC/USDT", "ETH/USDT"], "1h",
             "20240101-20250101", args.repeat, rules, threshold=2, investment=100)
    if "F" in args.only:
        case("F. scheduled every 4h: 1h x BTC/ETH x 2024, 100 USDT", ["BTC/USDT", "ETH/USDT"], "1h",
             "20240101-20250101", args.repeat, rules, mode="scheduled", interval="4h", investment=100)


if __name__ == "__main__":
    main()
