"""The rebalancing options (smartpf_core.gate) in both engines: the same records, and what each costs in time.

5m candles x the 5 majors x March 2025, 1,000 USDT, threshold 0.5 point; each option set against plain. Every
fast run is checked against the step run (the same trading records and final state). simulation_seconds as
``smartpf backtest --json`` reports it (median of --repeat runs; the machine may be shared).

Run: .venv/bin/python benchmarks/options_backtest.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics

from smartpf import paths
from smartpf.backtest.candles import Timerange, load_candles
from smartpf.backtest.fastsim import run_backtest
from smartpf.markets import load_rules
from smartpf_core import parse_settings
from smartpf_core.records import trade_rows

PAIRS = ["BTC/USDT", "ETH/USDT", "BNB/USDT", "SOL/USDT", "XRP/USDT"]
OPTIONS = [{}, {"min_benefit": True}, {"min_benefit": 20}, {"bands": {"BTC": 0.3, "XRP": 1}},
           {"rebalance_to": "halfway"}, {"rebalance_to": "band_edge"}, {"cooldown": "1d"}, {"max_turnover": 20},
           {"max_turnover": 20, "rebalance_to": "band_edge", "cooldown": "6h", "min_benefit": 5}]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rules_all = load_rules(paths.DEFAULT_MARKETS)
    candles = load_candles(str(paths.DEFAULT_DATADIR), PAIRS, "5m", Timerange.parse("20250301-20250401"))
    rules = {p: rules_all[p] for p in PAIRS}
    print("| options | rebalances | fees | step s | fast s | fast = step |")
    print("|---|---|---|---|---|---|")
    for extra in OPTIONS:
        section = {"assets": {p.split("/")[0]: 20 for p in PAIRS}, "investment": 1000, "threshold": 0.5, **extra}
        spec = parse_settings({"fee": 0.001, "smart_portfolio": section}).spec
        times: dict[str, list[float]] = {"step": [], "fast": []}
        results = {}
        for _ in range(args.repeat):
            for engine in ("step", "fast"):
                results[engine], seconds = run_backtest(engine, spec, candles.times, candles.opens, candles.closes,
                                                        rules=rules)
                times[engine].append(seconds)
        step, fast = results["step"], results["fast"]
        same = (trade_rows(step.engine.records) == trade_rows(fast.engine.records)
                and step.engine.to_dict() == fast.engine.to_dict())
        print(f"| {extra or 'plain'} | {fast.rebalances} | {fast.fees:.2f} | {statistics.median(times['step']):.2f} "
              f"| {statistics.median(times['fast']):.2f} | {'yes' if same else 'NO'} |")


if __name__ == "__main__":
    main()
