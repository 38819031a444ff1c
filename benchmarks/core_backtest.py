"""Core backtest speed: 30 days of 1m candles, 5 pairs (the shared 1m set), threshold 1 %.

Prints the median wall time of the engine's backtest side by side with a baseline that only
values a buy-and-hold basket over the same arrays (the floor any simulator pays), and their ratio.
Run: .venv/bin/python benchmarks/core_backtest.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import time

from smartpf import paths
from smartpf.backtest.candles import Timerange, load_candles
from smartpf.markets import load_rules
from smartpf_core import parse_settings, simulate

PAIRS = ["BTC/USDT", "ETH/USDT", "BNB/USDT", "SOL/USDT", "XRP/USDT"]


def baseline(times, opens, closes):
    """Buy at the second open, value at every close: the cheapest possible loop."""
    qty = {p: 200.0 / opens[p][1] for p in opens}
    peak, dd = 0.0, 0.0
    for i in range(len(times)):
        value = sum(q * closes[p][i] for p, q in qty.items())
        peak = max(peak, value)
        dd = max(dd, (peak - value) / peak)
    return dd


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    candles = load_candles(paths.DEFAULT_DATADIR, PAIRS, "1m", Timerange(None, None))
    opens = {p: v.tolist() for p, v in candles.opens.items()}
    closes = {p: v.tolist() for p, v in candles.closes.items()}
    times = candles.times.tolist()
    rules = load_rules(paths.DEFAULT_MARKETS)
    spec = parse_settings({"stake_currency": "USDT", "smart_portfolio": {
        "assets": {c.split("/")[0]: 20 for c in PAIRS}, "investment": 1000, "threshold": 1}}).spec
    engine_times, base_times = [], []
    result = None
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        result = simulate(spec, times, opens, closes, rules=rules)
        engine_times.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        baseline(times, opens, closes)
        base_times.append(time.perf_counter() - t0)
    e, b = statistics.median(engine_times), statistics.median(base_times)
    print(f"core backtest, {len(times)} candles x {len(PAIRS)} pairs (1m, 30 days), threshold 1 % absolute")
    print(f"  smartpf engine      median {e:6.3f} s  ({len(times) / e:,.0f} ticks/s, "
          f"{result.rebalances} rebalances, {result.orders} orders)")
    print(f"  buy-and-hold loop   median {b:6.3f} s")
    print(f"  ratio engine/base   {e / b:6.1f}x   (repeats: {args.repeat})")


if __name__ == "__main__":
    main()
