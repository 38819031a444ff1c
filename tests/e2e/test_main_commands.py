"""The README's main job and the path a user's clone takes without ../shared, offline."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest

from smartpf import paths

pytestmark = pytest.mark.e2e


def smartpf(*args, timeout=600):
    return subprocess.run([sys.executable, "-m", "smartpf.cli", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=paths.REPO_ROOT)


def test_fetch_data_then_freqtrade_backtest_on_the_fetched_candles(history_exchange, tmp_path):
    """On a clone without ../shared: `smartpf fetch-data` (freqtrade download-data) fetches the candles,
    here from the replay exchange instead of Binance, then `smartpf ft-backtest` runs on them."""
    override = tmp_path / "replay.json"
    replay = history_exchange.config_for()
    override.write_text(json.dumps({"exchange": {k: replay["exchange"][k] for k in (
        "ccxt_config", "ccxt_async_config", "enable_ws", "only_from_ccxt")}}))
    config = tmp_path / "config.json"
    example = json.loads((paths.USER_DATA / "config.example.json").read_text())
    example["smart_portfolio"]["assets"] = {"BTC": 50, "ETH": 50}
    example["exchange"]["pair_whitelist"] = ["BTC/USDT", "ETH/USDT"]
    example["max_open_trades"] = 2
    config.write_text(json.dumps(example))
    datadir = tmp_path / "data"
    proc = smartpf("fetch-data", "-c", str(config), "-c", str(override), "--datadir", str(datadir),
                   "--timerange", "20260401-20260403")
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    fetched = pd.read_feather(datadir / "BTC_USDT-1m.feather")
    source = pd.read_feather(paths.DEFAULT_DATADIR / "BTC_USDT-1m.feather").set_index("date")
    assert len(fetched) >= 2 * 1440
    merged = fetched.set_index("date").join(source.add_suffix("_src"), how="inner")
    assert len(merged) == len(fetched) and (merged["close"] == merged["close_src"]).all()

    proc = smartpf("ft-backtest", "-c", str(config), "--datadir", str(datadir), "--timerange", "20260401-20260403",
                   "--export-dir", str(tmp_path / "results"))
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    assert "Smart Portfolio backtest (freqtrade backtesting, SmartPortfolio)" in proc.stdout
    summary = json.loads((tmp_path / "results" / "smartpf-summary.json").read_text())
    assert summary["start"] == "2026-04-01T00:00:00Z" and summary["orders"] >= 2


def test_ft_backtest_refuses_an_invalid_config(tmp_path):
    config = tmp_path / "config.json"
    example = json.loads((paths.USER_DATA / "config.example.json").read_text())
    example["smart_portfolio"]["threshold"] = -1
    config.write_text(json.dumps(example))
    proc = smartpf("ft-backtest", "-c", str(config))
    assert proc.returncode == 2 and "smart_portfolio.threshold = -1" in proc.stderr
