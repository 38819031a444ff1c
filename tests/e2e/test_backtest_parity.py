"""`freqtrade backtesting` with SmartPortfolio agrees with `smartpf backtest` on real data.

Requirement: final value within 0.5 % and rebalances within +-1. Both run the same engine with the
same fill convention (the candle open), so in practice they agree to the cent.
"""

from __future__ import annotations

import json

import pytest

from smartpf import paths
from smartpf.cli import main
from smartpf_core import gate
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
    # inflows and weights (docs/options-flows.md): a weekly deposit from the free stake balance (the wallet
    # beyond the investment), bought underweight-only; inverse-volatility weights from a list of coins,
    # recomputed at each rebalance from the daily prices both engines sample alike
    ("1h-recurring-inverse-volatility", "1h", "20230101-20230301",
     {"assets": ["BTC", "ETH", "SOL", "XRP"], "weights": "inverse_volatility", "volatility_window": "14d",
      "investment": 1000, "threshold": 3, "recurring": {"amount": 100, "every": "7d"}, "inflow": "underweight",
      "stale_after": "6h"}),
    # a coin that goes away: BNB's candles end on 2025-12-01; six hours later it is frozen out of the weights and
    # BTC and ETH are rebalanced between themselves, in both
    ("1h-bnb-goes-away", "1h", "20251101-20260101",
     {"assets": {"BTC": 40, "ETH": 30, "BNB": 30}, "investment": 1000, "threshold": 2, "stale_after": "6h"}),
    # the rebalancing options of smartpf_core.gate, one case each
    ("1h-min-benefit", "1h", "20230101-20230301",
     {"assets": {"BTC": 25, "ETH": 25, "SOL": 15, "XRP": 15, "ADA": 10, "DOGE": 10}, "investment": 1500,
      "threshold": 0.5, "min_benefit": 20, "spread": {"*": 0.1, "DOGE": 0.3}}),
    ("1h-bands-halfway", "1h", "20230101-20230301",
     {"assets": {"BTC": 25, "ETH": 25, "SOL": 15, "XRP": 15, "ADA": 10, "DOGE": 10}, "investment": 1500,
      "threshold": 1, "bands": {"BTC": 0.5, "DOGE": 3}, "rebalance_to": "halfway"}),
    ("1h-band-edge", "1h", "20230101-20230301",
     {"assets": {"BTC": 25, "ETH": 25, "SOL": 15, "XRP": 15, "ADA": 10, "DOGE": 10}, "investment": 1500,
      "threshold": 2, "bands": {"DOGE": 4}, "rebalance_to": "band_edge"}),
    ("1h-cooldown-max-turnover", "1h", "20230101-20230301",
     {"assets": {"BTC": 25, "ETH": 25, "SOL": 15, "XRP": 15, "ADA": 10, "DOGE": 10}, "investment": 1500,
      "threshold": 1, "cooldown": "2d", "max_turnover": 20}),
]


def core_engine(config, timerange):
    """The core backtest's final engine state (``smartpf backtest --json`` prints the summary only)."""
    from smartpf.backtest.candles import Timerange, load_candles
    from smartpf.backtest.fastsim import simulate_fast
    from smartpf_core import check_config
    body = json.loads(config.read_text())
    spec = check_config(body).spec
    candles = load_candles(paths.DEFAULT_DATADIR, list(spec.pairs), body["timeframe"], Timerange.parse(timerange))
    return simulate_fast(spec, candles.times, candles.opens, candles.closes).engine.to_dict()


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
    if "recurring" in section:  # the same deposits, at the same candles, in both
        assert freqtrade["invested"] == core["invested"] >= section["investment"] + 7 * section["recurring"]["amount"]
    if section.get("weights") == "inverse_volatility":  # the same weights computed at the same rebalances
        assert [r["reason"] for r in freqtrade["engine"]["records"]] == \
            [r["reason"] for r in core_engine(config, timerange)["records"]]
        assert any("weights recomputed" in r["reason"] for r in freqtrade["engine"]["records"])
    if "stale_after" in section and "BNB" in section["assets"]:
        assert freqtrade["engine"]["frozen"] == core_engine(config, timerange)["frozen"] == ["BNB/USDT"]
        after = [r for r in freqtrade["engine"]["records"] if r["started_at"] > 1764572400 + 6 * 3600]
        assert after and all(t["pair"] != "BNB/USDT" for r in after for t in r["trades"])  # rebalanced without it
        assert "target 57.14 %" in after[-1]["reason"] or "target 42.86 %" in after[-1]["reason"]  # 40:30 of 70
    if "take_profit" not in section:
        assert core["rebalances"] >= 1  # the comparison covers real rebalancing
    if "take_profit" in section:
        assert freqtrade["status"] == core["status"] == "terminated"
        assert freqtrade["termination"]["trigger"] == "take_profit"
    if set(section) & set(gate.KEYS):  # a rebalancing option: it changed the run in this window
        plain = smartpf_config(history_exchange, tmp_path / "plain", {k: v for k, v in section.items()
                                                                      if k not in gate.KEYS}, timeframe=timeframe)
        assert main(["backtest", "-c", str(plain), "--timerange", timerange, "--json"]) == 0
        without = json.loads(capsys.readouterr().out)
        assert (without["rebalances"], without["final_value"]) != (core["rebalances"], core["final_value"])
