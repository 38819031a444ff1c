"""Freqtrade backtesting speed: SmartPortfolio vs a plain buy-and-hold strategy, in one run.

Same pairs (BTC ETH BNB SOL XRP), 30 days of 1m candles (the shared 1m set), threshold 1 % absolute,
offline against the replay exchange. Prints both wall times (median of --repeat runs) and the ratio;
the target is SmartPortfolio <= 1.5 x the baseline. A second SmartPortfolio line with a 0.2 % threshold
(many more orders per trade) shows that the cost does not grow with the number of orders.
Run: .venv/bin/python benchmarks/freqtrade_backtest.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from smartpf import paths
from smartpf.replay.runner import run_freqtrade, running_replay

HERE = Path(__file__).resolve().parent
PAIRS = ["BTC/USDT", "ETH/USDT", "BNB/USDT", "SOL/USDT", "XRP/USDT"]
TIMERANGE = "20260323-20260423"


def backtest(ex, workdir: Path, strategy: str, strategy_path: Path, threshold: float = 1.0) -> tuple[float, dict]:
    config = ex.config_for()
    config.update({"strategy": strategy, "strategy_path": str(strategy_path), "timeframe": "1m",
                   "dry_run_wallet": 1000, "tradable_balance_ratio": 1.0, "max_open_trades": len(PAIRS),
                   "exportdirectory": str(workdir / "results"),
                   "smart_portfolio": {"assets": {p.split("/")[0]: 20 for p in PAIRS}, "investment": 1000,
                                       "threshold": threshold}})
    config["exchange"]["pair_whitelist"] = PAIRS
    path = workdir / "config.json"
    path.write_text(json.dumps(config))
    (workdir / "user_data").mkdir(exist_ok=True)
    start = time.perf_counter()
    proc = run_freqtrade("backtesting", "-c", str(path), "--userdir", str(workdir / "user_data"),
                         "--datadir", str(paths.DEFAULT_DATADIR), "--timerange", TIMERANGE, "--cache", "none",
                         "--export", "none", timeout=3600)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"{strategy} backtest failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")
    summary_path = workdir / "results" / "smartpf-summary.json"
    summary = json.loads(summary_path.read_text()) if summary_path.exists() else {}
    return wall, summary


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    smart_path = paths.REPO_ROOT / "strategies"
    runs: dict[str, list[float]] = {"BuyAndHold": [], "SmartPortfolio": [], "SmartPortfolio 0.2%": []}
    summaries: dict[str, dict] = {}
    with running_replay(clock="history") as ex, tempfile.TemporaryDirectory() as tmp:
        for i in range(args.repeat):
            for name, strategy, where, threshold in (("BuyAndHold", "BuyAndHold", HERE / "strategies", 1.0),
                                                     ("SmartPortfolio", "SmartPortfolio", smart_path, 1.0),
                                                     ("SmartPortfolio 0.2%", "SmartPortfolio", smart_path, 0.2)):
                work = Path(tmp) / f"{name.replace(' ', '_')}-{i}"
                work.mkdir()
                wall, summary = backtest(ex, work, strategy, where, threshold)
                runs[name].append(wall)
                summaries[name] = summary
    base = statistics.median(runs["BuyAndHold"])
    print(f"freqtrade backtesting, {len(PAIRS)} pairs x 30 days of 1m candles ({TIMERANGE}), "
          f"median of {args.repeat}")
    for name, walls in runs.items():
        wall = statistics.median(walls)
        extra = ""
        if summaries.get(name):
            s = summaries[name]
            extra = f"  ({s['rebalances']} rebalances, {s['orders']} orders)"
        print(f"  {name:22} {wall:7.2f} s   ratio to buy-and-hold {wall / base:5.2f}x{extra}")
    print("  target: SmartPortfolio (threshold 1 %) <= 1.5x buy-and-hold")


if __name__ == "__main__":
    main()
