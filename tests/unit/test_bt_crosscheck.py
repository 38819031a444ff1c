"""smartpf backtest with same-candle execution against bt 1.4.1 (benchmarks/bt_crosscheck.py): 1h 2021,
BTC/ETH/ADA/XRP at 25 %, relative threshold 5 (bt's RunIfOutOfBounds(0.05)), no minimums.

bt is not a dependency: the script installs it into a virtualenv of its own (``$SMARTPF_BENCH_CACHE``, default
``~/.cache/smartpf-bench``); this test is skipped, saying why, only when that install is impossible.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from smartpf import paths

SCRIPT = paths.REPO_ROOT / "benchmarks" / "bt_crosscheck.py"
HOUR = 3600


def test_same_candle_agrees_with_bt():
    proc = subprocess.run([sys.executable, str(SCRIPT), "--json"], capture_output=True, text=True, timeout=900)
    if proc.returncode == 3:
        pytest.skip(proc.stderr.strip())
    assert proc.returncode in (0, 1), proc.stderr[-3000:]
    report = json.loads(proc.stdout)
    ours, theirs = report["smartpf"], report["bt"]
    assert abs(report["final_value_diff_pct"]) <= 0.05
    assert len(ours["rebalance_times"]) == len(theirs["rebalance_times"]) > 100
    # The same candles, but for a rebalance right at the threshold: bt's fee handling leaves weights that differ
    # from smartpf's in the fourth digit, so a deviation of 4.9996 against 5 fires an hour apart. Each such
    # pair is one candle apart and one side of it is within 0.01 of the threshold.
    only_ours, only_bt = report["rebalances_only_smartpf"], report["rebalances_only_bt"]
    assert len(only_ours) == len(only_bt) <= 2
    deviation = report["smartpf_deviation_on_unmatched"]
    for mine, bts in zip(only_ours, only_bt, strict=True):
        assert abs(mine - bts) == HOUR
        assert min(abs(deviation[str(mine)] - 5), abs(deviation[str(bts)] - 5)) < 0.01
