"""The report of a Freqtrade backtest of SmartPortfolio shows the same totals as the report of the core
backtest of the same config, within the parity tolerance of test_backtest_parity (in practice to the cent)."""

from __future__ import annotations

import json

import pytest

from smartpf.cli import main
from tests.support.freqtrade_runs import ft_backtest, smartpf_config

SECTION = {"assets": {"BTC": 25, "ETH": 25, "SOL": 25, "XRP": 25}, "investment": 1000, "threshold": 2}
TIMERANGE = "20240101-20240301"


@pytest.mark.e2e
def test_freqtrade_result_report_matches_the_core_backtest_report(history_exchange, tmp_path, capsys):
    work = tmp_path / "ft"
    config = smartpf_config(history_exchange, work, SECTION, timeframe="1h")
    proc = ft_backtest(config, TIMERANGE)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    assert main(["report", "--freqtrade-result", str(work / "results" / "smartpf-summary.json"),
                 "--out", str(tmp_path / "ft-report"), "--json"]) == 0
    freqtrade = json.loads(capsys.readouterr().out)
    assert main(["backtest", "-c", str(config), "--timerange", TIMERANGE, "--report", str(tmp_path / "core-report"),
                 "--json"]) == 0
    capsys.readouterr()
    core = json.loads((tmp_path / "core-report" / "report.json").read_text())
    ft_totals, core_totals = freqtrade["totals"], core["totals"]
    assert ft_totals["start"] == core_totals["start"] and ft_totals["end"] == core_totals["end"]
    for key in ("final_value", "hodl_value", "fees", "turnover"):
        assert ft_totals[key] == pytest.approx(core_totals[key], rel=0.005), key
    assert ft_totals["premium"] == pytest.approx(core_totals["premium"], abs=0.005 * core_totals["hodl_value"])
    assert abs(ft_totals["rebalances"] - core_totals["rebalances"]) <= 1
    assert ft_totals["orders"] == pytest.approx(core_totals["orders"], abs=2)
    assert ft_totals["max_drawdown_pct"] == pytest.approx(core_totals["max_drawdown_pct"], rel=0.005)
    assert core_totals["rebalances"] >= 1
    for key in ("rebalancing", "left_undone_by_minimums", "fees", "premium"):
        assert freqtrade["premium_split"][key] == pytest.approx(core["premium_split"][key],
                                                                abs=0.005 * core_totals["hodl_value"]), key
    for report in (tmp_path / "ft-report", tmp_path / "core-report"):
        assert (report / "report.html").exists() and len(list(report.glob("*.png"))) == 5
