"""A real `freqtrade backtesting` export: exit reasons are the stable kinds, so Freqtrade's exit-reason
statistics and `freqtrade backtesting-analysis` group them; every order keeps its engine order id as its tag."""

from __future__ import annotations

import json
import re
import zipfile

import pytest

from smartpf import paths
from smartpf.replay.runner import run_freqtrade
from smartpf_core.channels import EXIT_KINDS
from tests.support.freqtrade_runs import smartpf_config

pytestmark = pytest.mark.e2e
OP_TAG = re.compile(r"^(rb|exit)\d+:(buy|sell):[A-Z]+/USDT$")  # a backtest's portfolio has no id


def test_backtest_export_groups_exits_under_stable_kinds(history_exchange, tmp_path):
    section = {"assets": {"BTC": 25, "ETH": 25, "SOL": 25, "XRP": 25}, "investment": 1000, "threshold": 1,
               "take_profit": 15, "on_exit": "sell"}
    config = smartpf_config(history_exchange, tmp_path, section, timeframe="1h")
    user_data = str(tmp_path / "user_data")
    proc = run_freqtrade("backtesting", "-c", str(config), "--userdir", user_data, "--datadir",
                         str(paths.DEFAULT_DATADIR), "--timerange", "20240201-20240401", "--cache", "none",
                         "--export", "signals", timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    export = sorted((tmp_path / "results").glob("backtest-result-*.zip"))[-1]
    with zipfile.ZipFile(export) as zf:
        name = next(n for n in zf.namelist() if n.endswith(".json") and "_config" not in n)
        result = json.loads(zf.read(name))["strategy"]["SmartPortfolio"]

    trades = result["trades"]
    assert len(trades) == 4
    # the take-profit sold every coin: one group in Freqtrade's exit-reason statistics, not four unique tags
    assert {t["exit_reason"] for t in trades} == {"smartpf_take_profit"}
    summary = {row["key"]: row["trades"] for row in result["exit_reason_summary"] if row["key"] != "TOTAL"}
    assert summary == {"smartpf_take_profit": 4}
    # the operation id stays in each order's tag: the rebalances' and the exit's
    tags = [o["ft_order_tag"] for t in trades for o in t["orders"] if o["ft_order_side"] == "sell"]
    assert tags and all(OP_TAG.match(tag) for tag in tags), tags
    assert any(tag.startswith("rb") for tag in tags) and sum(tag.startswith("exit") for tag in tags) == 4
    assert set(EXIT_KINDS) >= {t["exit_reason"] for t in trades}

    # `freqtrade backtesting-analysis` groups by the same exit reason
    analysis = run_freqtrade("backtesting-analysis", "-c", str(config), "--userdir", user_data,
                             "--analysis-groups", "2", timeout=300)
    assert analysis.returncode == 0, analysis.stdout[-2000:] + analysis.stderr[-2000:]
    out = analysis.stdout + analysis.stderr
    assert "smartpf_take_profit" in out and ":sell:" not in out
