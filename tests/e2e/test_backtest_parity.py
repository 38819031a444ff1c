"""`freqtrade backtesting` with SmartPortfolio agrees with `smartpf backtest` on real data.

Requirement: final value within 0.5 % and rebalances within +-1. Both run the same engine with the
same fill convention (the candle open), so in practice they agree to the cent.
"""

from __future__ import annotations

import json

import pytest

from smartpf.cli import main
from tests.support.freqtrade_runs import ft_backtest, smartpf_config

CASES = [
    ("5m-majors-1pt", "5m", "20250301-20250401",
     {"assets": {"BTC": 20, "ETH": 20, "BNB": 20, "SOL": 20, "XRP": 20}, "investment": 1000, "threshold": 1}),
    ("5m-relative", "5m", "20250601-20250701",
     {"assets": {"BTC": 40, "ETH": 30, "SOL": 15, "DOGE": 15}, "investment": 2000, "threshold": 10,
      "threshold_type": "relative"}),
    ("1h-six-coins", "1h", "20230101-20230301",
     {"assets": {"BTC": 25, "ETH": 25, "SOL": 15, "XRP": 15, "ADA": 10, "DOGE": 10}, "investment": 1500,
      "threshold": 2}),
    ("1h-scheduled", "1h", "20220101-20220301",
     {"assets": {"BTC": 30, "ETH": 30, "LINK": 20, "LTC": 20}, "investment": 1000, "mode": "scheduled",
      "interval": "1d"}),
    # the May 2021 crash with a tight price guard: 47 candles held for confirmation, identically in both
    ("1h-price-guard", "1h", "20210501-20210601",
     {"assets": {"BTC": 25, "ETH": 25, "ADA": 25, "XRP": 25}, "investment": 1000, "threshold": 2,
      "price_guard": 5}),
    ("1h-take-profit-sell", "1h", "20240201-20240401",
     {"assets": {"BTC": 25, "ETH": 25, "SOL": 25, "XRP": 25}, "investment": 1000, "threshold": 2,
      "take_profit": 15, "on_exit": "sell"}),
]


@pytest.mark.e2e
@pytest.mark.parametrize("name, timeframe, timerange, section", CASES, ids=[c[0] for c in CASES])
def test_freqtrade_backtest_matches_the_core_backtest(history_exchange, tmp_path, capsys, name, timeframe,
                                                      timerange, section):
    work = tmp_path / name
    config = smartpf_config(history_exchange, work, section, timeframe=timeframe)
    proc = ft_backtest(config, timerange)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    freqtrade = json.loads((work / "results" / "smartpf-summary.json").read_text())
    assert main(["backtest", "-c", str(config), "--timerange", timerange, "--json"]) == 0
    core = json.loads(capsys.readouterr().out)
    assert freqtrade["start"] == core["start"] and freqtrade["end"] == core["end"]
    assert freqtrade["final_value"] == pytest.approx(core["final_value"], rel=0.005)
    assert abs(freqtrade["rebalances"] - core["rebalances"]) <= 1
    assert freqtrade["hodl_value"] == pytest.approx(core["hodl_value"], rel=0.005)
    assert freqtrade["orders"] == pytest.approx(core["orders"], abs=2)
    if "take_profit" not in section:
        assert core["rebalances"] >= 1  # the comparison covers real rebalancing
    if "take_profit" in section:
        assert freqtrade["status"] == core["status"] == "terminated"
        assert freqtrade["termination"]["trigger"] == "take_profit"
