"""The core backtest on the real shared candles, through the command line."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest

from smartpf.backtest.candles import Timerange, load_candles
from smartpf.cli import main
from smartpf_core import parse_settings, simulate
from tests.support.helpers import RULES

KEYS = {"start", "end", "mode", "threshold_type", "final_value", "hodl_value", "profit_pct", "hodl_profit_pct",
        "rebalances", "orders", "fees", "turnover", "max_drawdown_pct"}


def config_file(tmp_path, assets, timeframe="1h", **section):
    body = {"assets": assets, "investment": 1000, **section}
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"stake_currency": "USDT", "timeframe": timeframe, "fee": 0.001,
                                "smart_portfolio": body}))
    return str(path)


def run_json(capsys, *args):
    assert main(["backtest", *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_default_portfolio_30_days_of_1m(capsys, datadir):
    summary = run_json(capsys, "-c", "user_data/config.example.json", "--datadir", str(datadir))
    assert KEYS <= set(summary)
    assert summary["start"] == "2026-03-23T12:09:00Z" and summary["end"] == "2026-04-22T12:08:00Z"
    assert summary["mode"] == "proportional" and summary["threshold_type"] == "absolute"
    assert summary["first_purchase"] == "2026-03-23T12:10:00Z"  # the second candle, as in Freqtrade
    assert summary["orders"] >= 5 + summary["rebalances"]
    assert summary["profit_pct"] == pytest.approx((summary["final_value"] / 1000 - 1) * 100)
    assert summary["hodl_profit_pct"] == pytest.approx((summary["hodl_value"] / 1000 - 1) * 100)
    assert 0 < summary["max_drawdown_pct"] < 100
    assert summary["turnover"] > 990 and summary["fees"] == pytest.approx(summary["turnover"] * 0.001)


def test_readable_summary(capsys, datadir, tmp_path):
    path = config_file(tmp_path, {"BTC": 50, "ETH": 50}, threshold=2)
    assert main(["backtest", "-c", path, "--datadir", str(datadir), "--timerange", "20240101-20240201"]) == 0
    out = capsys.readouterr().out
    assert "threshold 2 percentage points (absolute)" in out and "HODL value" in out and "rebalances" in out


def test_timerange_end_is_inclusive(capsys, datadir, tmp_path):
    path = config_file(tmp_path, {"BTC": 50, "ETH": 50}, timeframe="1m")
    summary = run_json(capsys, "-c", path, "--datadir", str(datadir), "--timerange", "20260401-20260402")
    assert summary["start"] == "2026-04-01T00:00:00Z" and summary["end"] == "2026-04-02T00:00:00Z"
    assert summary["candles"] == 1441


def test_hodl_is_the_initial_basket_never_rebalanced(capsys, datadir, tmp_path):
    path = config_file(tmp_path, {"BTC": 60, "ETH": 40}, timeframe="5m", threshold=0.5)
    summary = run_json(capsys, "-c", path, "--datadir", str(datadir), "--timerange", "20250101-20250201")
    btc = pd.read_feather(datadir / "BTC_USDT-5m.feather").set_index("date")
    eth = pd.read_feather(datadir / "ETH_USDT-5m.feather").set_index("date")
    first, last = pd.Timestamp("2025-01-01 00:05", tz="UTC"), pd.Timestamp("2025-02-01 00:00", tz="UTC")
    spend = 1000 / 1.001
    qty_btc = int(spend * 0.6 / btc.loc[first, "open"] / 1e-5) * 1e-5
    qty_eth = int(spend * 0.4 / eth.loc[first, "open"] / 1e-4) * 1e-4
    cash = 1000 - (qty_btc * btc.loc[first, "open"] + qty_eth * eth.loc[first, "open"]) * 1.001
    expected = qty_btc * btc.loc[last, "close"] + qty_eth * eth.loc[last, "close"] + cash
    assert summary["hodl_value"] == pytest.approx(expected, rel=1e-6)
    assert summary["rebalances"] > 3


def test_scheduled_mode_rebalances_on_the_interval(capsys, datadir, tmp_path):
    path = config_file(tmp_path, {"BTC": 40, "ETH": 30, "SOL": 30}, timeframe="1h", mode="scheduled",
                       interval="7d")
    summary = run_json(capsys, "-c", path, "--datadir", str(datadir), "--timerange", "20240101-20240301")
    assert summary["mode"] == "scheduled"
    assert 6 <= summary["rebalances"] <= 8  # 60 days / 7 days, a few too small to trade at most


def test_missing_candles_never_trade(datadir):
    """The 1h files have real gaps (34 h in Feb 2018): no order on a missing price."""
    spec = parse_settings({"stake_currency": "USDT", "smart_portfolio": {
        "assets": {"BTC": 50, "ETH": 50}, "investment": 1000, "threshold": 0.5}}).spec
    candles = load_candles(datadir, ["BTC/USDT", "ETH/USDT"], "1h", Timerange.parse("20180201-20180401"))
    steps = candles.times[1:] - candles.times[:-1]
    assert steps.max() >= 34 * 3600  # the real outage is in the window
    opens = {p: v.tolist() for p, v in candles.opens.items()}
    # and knock out one pair's candles for two days, as a partial gap
    holes = set(range(300, 348))
    for i in holes:
        opens["ETH/USDT"][i] = float("nan")
    result = simulate(spec, candles.times.tolist(), opens, {p: v.tolist() for p, v in candles.closes.items()},
                      rules=RULES)
    present = {int(t) for i, t in enumerate(candles.times) if i not in holes}
    trade_times = {int(t.time) for r in result.engine.records for t in r.trades}
    assert trade_times and trade_times <= present
    assert result.rebalances > 5


def test_bad_inputs_are_one_line_exit_2(capsys, tmp_path, datadir):
    path = config_file(tmp_path, {"BTC": 50, "ETH": 50})
    assert main(["backtest", "-c", path, "--datadir", str(tmp_path)]) == 2
    assert "no 1h candles for BTC/USDT" in capsys.readouterr().err
    assert main(["backtest", "-c", path, "--datadir", str(datadir), "--timerange", "2024-01"]) == 2
    assert "--timerange '2024-01'" in capsys.readouterr().err
    assert main(["backtest", "-c", path, "--datadir", str(datadir), "--markets", str(tmp_path / "x.json")]) == 2
    assert "--markets" in capsys.readouterr().err
    bad = config_file(tmp_path, {"BTC": 50, "ETH": 40})
    assert main(["backtest", "-c", bad, "--datadir", str(datadir)]) == 2
    assert "sum to 90" in capsys.readouterr().err


def test_console_script_never_prints_a_traceback(tmp_path):
    path = tmp_path / "c.json"
    path.write_text('{"smart_portfolio": {"assets": {"BTC": "x"}, "investment": -1, "mode": null}')
    for args in (["validate", "-c", str(path)], ["backtest", "-c", str(path)], ["init", "--preset", "nope",
                                                                                 "--investment", "10"]):
        proc = subprocess.run([sys.executable, "-m", "smartpf.cli", *args], capture_output=True, text=True)
        assert proc.returncode == 2, (args, proc.stdout, proc.stderr)
        assert "Traceback" not in proc.stdout + proc.stderr
