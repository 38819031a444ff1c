"""The sweep's throughput: runs per second through joblib with 1 and 2 loky workers (and in-process, no joblib).

The design: 3 baskets of the shared 1h BTC, ETH, ADA, XRP candles of 2021 (tests/support/datasets.py lists them) ×
rolling 90-day windows every 30 days × 6 settings (thresholds 1, 2, 5, 10 points; every 1d, 7d), run through
the same ``plan_sweep`` / ``execute`` as ``smartpf sweep``. Wall time from the planned cells to the rows
(candle loading excluded, worker start-up included). The machine may be shared: the best of --repeat
runs, and say so.

Run: .venv/bin/python benchmarks/sweep_throughput.py [--repeat 2] [--workers 1,2]
"""

from __future__ import annotations

import argparse
import time

from smartpf import paths
from smartpf.backtest.candles import Timerange
from smartpf.markets import load_rules
from smartpf.research.sweep import Plan, execute, parse_windows, plan_sweep, run_cell, settings_grid

BASKETS = {"btc-eth": {"BTC": 50, "ETH": 50}, "four": {"BTC": 25, "ETH": 25, "ADA": 25, "XRP": 25},
           "alts": {"ETH": 40, "ADA": 30, "XRP": 30}}
TIMERANGE = "20210101-20220101"
CONFIG = {"stake_currency": "USDT", "fee": 0.001, "smart_portfolio": {"assets": {"BTC": 50, "ETH": 50},
                                                                       "investment": 10000}}


def plan() -> Plan:
    rules = load_rules(paths.DEFAULT_MARKETS)
    timerange = Timerange.parse(TIMERANGE)
    return plan_sweep(CONFIG, BASKETS, settings_grid([1, 2, 5, 10], ["absolute"], ["1d", "7d"]),
                      parse_windows("90d/30d", timerange), timerange, str(paths.DEFAULT_DATADIR), "1h",
                      lambda pairs, _: {p: rules[p] for p in pairs})


def in_process(p: Plan) -> int:
    return sum(len(run_cell(cell)) for cell in p.cells)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--workers", default="1,2")
    args = parser.parse_args()
    p = plan()
    print(f"sweep throughput: {len(p.baskets)} baskets x {len(p.windows)} windows x {len(p.settings)} settings = "
          f"{p.runs} runs of 90 days of 1h candles ({len(p.cells)} tasks); best of {args.repeat}")
    cases: list[tuple[str, int | None]] = [("in-process, no joblib", None)]
    cases += [(f"joblib loky, {n} worker{'s' if n > 1 else ''}", n) for n in map(int, args.workers.split(","))]
    for title, workers in cases:
        best = float("inf")
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            runs = in_process(p) if workers is None else len(execute(p, "loky", workers, progress=False))
            best = min(best, time.perf_counter() - t0)
        print(f"  {title:28} {runs / best:7.1f} runs/s  ({runs} runs in {best:.2f} s)")
    print("The machine may be shared with other work: figures are the best of the repeats.")


if __name__ == "__main__":
    main()
