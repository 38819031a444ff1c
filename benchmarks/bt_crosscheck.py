"""Cross-check ``smartpf backtest --execution same-candle`` against bt (https://pmorissette.github.io/bt/).

The case (issue 14): 1h candles of 2021, BTC/ETH/ADA/XRP at 25 % each, 10,000 USDT, a 5 % relative
threshold (bt's ``RunIfOutOfBounds(0.05)`` + ``Rebalance``), fee 0.1 % per side, no minimums and no lot
steps, no price guard. Both decide and trade at each candle's open; smartpf's first purchase is at the
second candle, so bt gets the opens from that candle on. Compared: the value at the last candle's open
(after its trades), and the candles on which each rebalanced (bt's initial allocation left out).

bt is not a dependency of smartpf: it is installed into a virtualenv of its own under
``$SMARTPF_BENCH_CACHE`` (default ``~/.cache/smartpf-bench``), ``bt-venv``, the first time.
Run: .venv/bin/python benchmarks/bt_crosscheck.py [--json]
Exit 0 when they agree (within 0.05 % and on the same candles), 1 when not, 3 when bt cannot be installed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from smartpf import paths
from smartpf.backtest.candles import Timerange, load_candles
from smartpf.backtest.fastsim import run_backtest
from smartpf_core import Engine, actual_weights, largest_drift, parse_settings
from smartpf_core.simulate import trade_tick

PAIRS = ["BTC/USDT", "ETH/USDT", "ADA/USDT", "XRP/USDT"]
TIMERANGE = "20210101-20220101"
BT_VERSION = "1.4.1"
CAPITAL, FEE, THRESHOLD = 10000.0, 0.001, 5.0
CACHE = Path(os.environ.get("SMARTPF_BENCH_CACHE") or Path.home() / ".cache" / "smartpf-bench")
RUNNER = Path(__file__).resolve().parent / "crosscheck" / "bt_runner.py"


class Unavailable(Exception):
    """bt cannot be installed here (no Python 3 venv, no access to PyPI)."""


def bt_python() -> Path:
    """The Python of bt's own virtualenv, created (and bt installed) the first time."""
    venv = CACHE / "bt-venv"
    python = venv / "bin" / "python"
    check = [str(python), "-c", f"import bt, sys; sys.exit(bt.__version__ != '{BT_VERSION}')"]
    if python.exists() and subprocess.run(check, capture_output=True).returncode == 0:
        return python
    CACHE.mkdir(parents=True, exist_ok=True)
    steps = [[sys.executable, "-m", "venv", str(venv)],
             [str(python), "-m", "pip", "install", "--quiet", f"bt=={BT_VERSION}"]]
    for cmd in steps:
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            raise Unavailable(f"{' '.join(cmd[:4])} failed: {(proc.stderr or proc.stdout).strip()[-500:]}")
    if subprocess.run(check, capture_output=True).returncode != 0:
        raise Unavailable(f"bt {BT_VERSION} is not importable in {venv}")
    return python


def portfolio_spec():
    return parse_settings({"stake_currency": "USDT", "fee": FEE, "smart_portfolio": {
        "assets": {p.split("/")[0]: 25 for p in PAIRS}, "investment": CAPITAL, "threshold": THRESHOLD,
        "threshold_type": "relative", "min_trade": 0, "price_guard": None}}).spec


def smartpf_side(candles) -> dict:
    spec = portfolio_spec()
    result, seconds = run_backtest("fast", spec, candles.times, candles.opens, candles.closes, rules=None,
                                   execution="same-candle")
    engine = result.engine
    last = {p: float(candles.opens[p][-1]) for p in PAIRS}
    rebalances = [int(r.started_at) for r in engine.records if r.kind == "rebalance"]
    return {"final_value": engine.value(last), "rebalance_times": rebalances, "simulation_seconds": seconds}


def _ffill(col: np.ndarray) -> np.ndarray:
    index = np.where(np.isnan(col), 0, np.arange(len(col)))
    np.maximum.accumulate(index, out=index)
    return col[index]


def bt_side(candles) -> dict:
    python = bt_python()
    with tempfile.TemporaryDirectory(prefix="smartpf-bt-") as tmp:
        prices = Path(tmp) / "prices.csv"
        weights = Path(tmp) / "weights.json"
        coins = [p.split("/")[0] for p in PAIRS]
        # bt needs a price at every row: a candle smartpf counts as missing (volume 0, e.g. Binance's
        # maintenance on 2021-02-11 03:00) carries the previous open for bt; smartpf does not trade on it
        rows = np.column_stack([candles.times[1:], *(_ffill(candles.opens[p][1:]) for p in PAIRS)])
        header = "epoch," + ",".join(coins)
        np.savetxt(prices, rows, delimiter=",", header=header, comments="", fmt=["%d", *["%.17g"] * len(coins)])
        weights.write_text(json.dumps({c: 0.25 for c in coins}))
        t0 = time.perf_counter()
        proc = subprocess.run([str(python), str(RUNNER), str(prices), str(weights), str(THRESHOLD / 100), str(FEE),
                               str(CAPITAL)], capture_output=True, text=True)
        seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"bt failed: {proc.stderr[-2000:]}")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["rebalance_times"] = out.pop("trade_dates")[1:]  # the first is the initial allocation
    out["run_seconds"] = seconds
    return out


def deviation_before(candles, when: int) -> float:
    """smartpf's largest relative deviation (percent of the target) at the open of the candle at ``when``,
    before that candle's trades: how close to the threshold a candle on which only one side rebalanced was."""
    spec = portfolio_spec()
    engine = Engine(spec)
    times = candles.times.tolist()
    for i in range(1, len(times)):
        prices = {p: float(candles.opens[p][i]) for p in PAIRS}
        if times[i] == when:
            weights = actual_weights(engine.holdings, prices, engine.cash, spec.pairs)
            drift = largest_drift(weights, spec.weights, spec.threshold_type)
            return abs(drift.deviation) if drift is not None else 0.0
        trade_tick(engine, times[i], prices, spec.fee, True)
    raise ValueError(f"no candle at {when}")


def crosscheck() -> dict:
    candles = load_candles(paths.DEFAULT_DATADIR, PAIRS, "1h", Timerange.parse(TIMERANGE))
    ours = smartpf_side(candles)
    theirs = bt_side(candles)
    diff = (ours["final_value"] - theirs["final_value"]) / theirs["final_value"] * 100
    only_ours = sorted(set(ours["rebalance_times"]) - set(theirs["rebalance_times"]))
    only_bt = sorted(set(theirs["rebalance_times"]) - set(ours["rebalance_times"]))
    borderline = {str(t): deviation_before(candles, t) for t in (*only_ours, *only_bt)}
    return {"smartpf": ours, "bt": theirs, "final_value_diff_pct": diff, "rebalances_only_smartpf": only_ours,
            "rebalances_only_bt": only_bt, "smartpf_deviation_on_unmatched": borderline,
            "agree": abs(diff) <= 0.05 and not only_ours and not only_bt}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    try:
        report = crosscheck()
    except Unavailable as exc:
        print(f"bt cross-check not run: {exc}", file=sys.stderr)
        return 3
    if args.json:
        print(json.dumps(report))
    else:
        ours, theirs = report["smartpf"], report["bt"]
        print(f"1h {TIMERANGE}, {'/'.join(p.split('/')[0] for p in PAIRS)} 25 % each, relative threshold "
              f"{THRESHOLD:g} %, fee {FEE:g}, same-candle, no minimums")
        print(f"  smartpf  final value {ours['final_value']:,.2f}  rebalances {len(ours['rebalance_times'])}")
        print(f"  bt {theirs['bt_version']}  final value {theirs['final_value']:,.2f}  "
              f"rebalances {len(theirs['rebalance_times'])}")
        print(f"  difference {report['final_value_diff_pct']:+.4f} % of final value")
        print(f"  rebalance candles only smartpf {report['rebalances_only_smartpf']}, only bt "
              f"{report['rebalances_only_bt']}; smartpf's largest deviation there (threshold {THRESHOLD:g}): "
              + ", ".join(f"{v:.4f}" for v in report["smartpf_deviation_on_unmatched"].values()))
        print("  agree" if report["agree"] else "  DISAGREE")
    return 0 if report["agree"] else 1


if __name__ == "__main__":
    sys.exit(main())
