"""The real ``freqtrade`` program against the real replay server, with no network.

list-markets, download-data (values identical to the source files), backtesting, and a short
``trade --dry-run`` on the replay clock, with and without injected failures.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest

from smartpf.paths import DEFAULT_DATADIR
from smartpf.replay.runner import freqtrade_command, run_freqtrade, running_replay

pytestmark = pytest.mark.e2e

DRY_RUN_SECONDS = 60
STRATEGIES = Path(__file__).resolve().parents[1] / "support" / "strategies"
REPLAY_PAIRS = ["BTC/USDT", "ETH/USDT", "SOL/USDT", "BNB/USDT", "XRP/USDT"]


def _config(ex, tmp_path: Path, **overrides) -> Path:
    return ex.write_config(tmp_path / "config.json", overrides)


def test_list_markets_shows_served_pairs_with_real_minimums(replay_history, ft_userdir, tmp_path):
    cfg = _config(replay_history, tmp_path)
    res = run_freqtrade("list-markets", "-c", cfg, "--userdir", ft_userdir, "--quote", "USDT")
    assert res.returncode == 0, res.stdout + res.stderr
    served = len({f.name.split("-")[0] for f in DEFAULT_DATADIR.glob("*.feather")})  # 17 in ../shared
    assert f"has {served} active markets with USDT as quote currency" in res.stdout
    rows = [line for line in res.stdout.splitlines() if "/USDT" in line]
    assert len(rows) == served
    # NOTIONAL.minNotional 5 USDT from the real exchangeInfo -> Freqtrade's min stake 5 * 1.05
    assert all("5.25" in row for row in rows), rows
    assert "exchangeInfo" in "".join(replay_history.state()["requests"])


def test_download_data_is_identical_to_the_source(replay_history, ft_userdir, tmp_path):
    cfg = _config(replay_history, tmp_path)
    dl = tmp_path / "downloaded"
    res = run_freqtrade("download-data", "-c", cfg, "--userdir", ft_userdir, "--datadir", dl,
                        "-p", "BTC/USDT", "ETH/USDT", "-t", "1h", "5m", "--timerange", "20250301-20250305")
    assert res.returncode == 0, res.stdout + res.stderr
    lo, hi = pd.Timestamp("2025-03-01", tz="UTC"), pd.Timestamp("2025-03-05", tz="UTC")
    for pair in ("BTC_USDT", "ETH_USDT"):
        for tf in ("1h", "5m"):
            got = pd.read_feather(dl / f"{pair}-{tf}.feather")
            src = pd.read_feather(DEFAULT_DATADIR / f"{pair}-{tf}.feather")
            got = got[(got["date"] >= lo) & (got["date"] < hi)].reset_index(drop=True)
            src = src[(src["date"] >= lo) & (src["date"] < hi)].reset_index(drop=True)
            assert len(got) == len(src) > 0
            assert (got["date"].astype("int64") == src["date"].astype("int64")).all() or \
                got["date"].tolist() == src["date"].tolist()
            for col in ("open", "high", "low", "close", "volume"):
                assert got[col].tolist() == src[col].tolist(), (pair, tf, col)


def test_backtesting_completes_with_trades(replay_history, ft_userdir, tmp_path):
    cfg = _config(replay_history, tmp_path)
    res = run_freqtrade("backtesting", "-c", cfg, "--userdir", ft_userdir, "--datadir", DEFAULT_DATADIR,
                        "--strategy-path", STRATEGIES, "-s", "ReplaySmaCross", "--timeframe", "1h",
                        "--timerange", "20250101-20250201", "--export", "trades",
                        "--backtest-directory", tmp_path / "bt")
    assert res.returncode == 0, res.stdout + res.stderr
    summary = [line for line in res.stdout.splitlines() if "ReplaySmaCross" in line and "│" in line]
    assert summary, res.stdout
    trades = int(summary[-1].split("│")[2].strip())
    assert trades > 0
    assert list(tmp_path.rglob("*.zip")), "no exported backtest result"


def _dry_run(ex, tmp_path: Path, seconds: float) -> tuple[int, str, Path, bool]:
    """Run ``freqtrade trade --dry-run`` for ``seconds``, then SIGINT; (rc, log, db, alive at the end)."""
    db = tmp_path / "dryrun.sqlite"
    cfg = _config(ex, tmp_path)
    log_path = tmp_path / "freqtrade.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            freqtrade_command("trade", "--dry-run", "-c", cfg, "--userdir", tmp_path / "user_data",
                          "--strategy-path", STRATEGIES, "-s", "ReplayBuyHold", "--db-url", f"sqlite:///{db}"),
            stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ, PYTHONUNBUFFERED="1"))
        try:
            time.sleep(seconds)
            alive = proc.poll() is None
            proc.send_signal(signal.SIGINT)
            rc = proc.wait(60)
        finally:
            if proc.poll() is None:
                proc.kill()
    return rc, log_path.read_text(), db, alive


def _trades(db: Path) -> list[tuple]:
    with sqlite3.connect(db) as con:
        return con.execute("select pair, is_open, open_rate, amount from trades").fetchall()


def test_dry_run_on_the_replay_clock_opens_trades(ft_userdir, tmp_path, shared_data):
    with running_replay(clock="replay", pairs=REPLAY_PAIRS) as ex:
        rc, log, db, alive = _dry_run(ex, tmp_path, DRY_RUN_SECONDS)
        state = ex.state()
    assert alive, log[-3000:]
    assert rc in (0, 130), log[-3000:]  # 130: Freqtrade's normal exit on SIGINT
    trades = _trades(db)
    assert {t[0] for t in trades} == set(REPLAY_PAIRS), log[-3000:]
    assert "Traceback" not in log
    # the trades were filled at replayed prices, on the tick grid
    assert all(rate > 0 and amount > 0 for _, _, rate, amount in trades)
    used = state["requests"]
    assert used.get("/api/v3/exchangeInfo") and used.get("/api/v3/klines") and used.get("/api/v3/ticker/24hr")
    assert not state["unknown_paths"], state["unknown_paths"]
    print("dry-run requests:", used)


def test_dry_run_survives_a_20_percent_failure_rate(ft_userdir, tmp_path, shared_data):
    with running_replay(clock="replay", pairs=REPLAY_PAIRS, fail_rate=0.2, seed=3) as ex:
        rc, log, db, alive = _dry_run(ex, tmp_path, DRY_RUN_SECONDS)
        state = ex.state()
    assert alive, log[-3000:]
    assert rc in (0, 130), log[-3000:]
    assert state["faults"]["failures_injected"] > 0
    assert "retrying" in log.lower() or "Could not" in log, log[-3000:]
    assert _trades(db), log[-3000:]
    print("injected failures:", state["faults"]["failures_injected"], "errors:", state["errors"])
