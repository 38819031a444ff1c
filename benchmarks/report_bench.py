"""Report cost on a long run: 8 years of 1h candles x 5 coins (the shared data), threshold 1 % absolute.

Times the core backtest (fast engine) and, separately, everything the report adds (the value series
rebuilt from the records, the premium split, the plotly page, the five PNGs, report.json), and prints
the page's size. Goal: the report under 10 s beyond the backtest, the page under 10 MB.
``--stress``: the same candles rebalanced on a 4h schedule (about 17,500 rebalances, 78,000 orders), the
heaviest page a 1h run makes (the trade markers are capped).
Run: .venv/bin/python benchmarks/report_bench.py [--repeat 3] [--out DIR] [--stress]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from smartpf import paths
from smartpf.backtest.candles import Timerange, load_candles
from smartpf.backtest.fastsim import run_backtest
from smartpf.backtest.report import backtest_summary
from smartpf.markets import load_rules
from smartpf.reporting.sources import from_state
from smartpf.reporting.write import write_report
from smartpf_core import parse_settings

PAIRS = ["BTC/USDT", "ETH/USDT", "XRP/USDT", "ADA/USDT", "LTC/USDT"]
TIMERANGE = "20180502-20260502"  # 8 years


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", help="keep the report here (default: a temporary folder)")
    parser.add_argument("--stress", action="store_true", help="a 4h schedule instead of a 1 %% threshold")
    args = parser.parse_args()
    candles = load_candles(paths.DEFAULT_DATADIR, PAIRS, "1h", Timerange.parse(TIMERANGE))
    rules = load_rules(paths.DEFAULT_MARKETS)
    rule = {"mode": "scheduled", "interval": "4h"} if args.stress else {"threshold": 1}
    spec = parse_settings({"stake_currency": "USDT", "fee": 0.001, "smart_portfolio": {
        "assets": {c.split("/")[0]: 20 for c in PAIRS}, "investment": 100000 if args.stress else 1000,
        **rule}}).spec
    backtests, reports, cpus = [], [], []
    size = 0
    for _ in range(args.repeat):
        result, seconds = run_backtest("fast", spec, candles.times, candles.opens, candles.closes,
                                       rules={p: rules[p] for p in PAIRS})
        backtests.append(seconds)
        summary = backtest_summary(result, spec, "1h")
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(args.out or tmp)
            t0, c0 = time.perf_counter(), time.process_time()
            data = from_state(result.engine.to_dict(), summary, candles, "1h", "benchmark", "report_bench")
            write_report(data, out)
            reports.append(time.perf_counter() - t0)
            cpus.append(time.process_time() - c0)
            size = (out / "report.html").stat().st_size
    b, r = statistics.median(backtests), statistics.median(reports)
    how = "every 4h (--stress)" if args.stress else "threshold 1 % absolute"
    print(f"report on {len(candles):,} candles x {len(PAIRS)} pairs (1h, {TIMERANGE}), {how}: "
          f"{result.rebalances} rebalances, {result.orders} orders")
    print(f"  backtest (fast engine)   median {b:6.2f} s")
    print(f"  report beyond it         median {r:6.2f} s  (goal < 10 s); CPU time {statistics.median(cpus):.2f} s "
          "(the wall time on a shared, busy machine can be several times the CPU time)")
    print(f"  report.html              {size / 1e6:6.2f} MB  (goal < 10 MB; plotly.js inlined is 4.8 MB of it)")
    print(f"  repeats: {args.repeat}")


if __name__ == "__main__":
    main()
