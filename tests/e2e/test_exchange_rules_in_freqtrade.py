"""End to end, offline: each exchange's rules served by the replay exchange (a ccxt markets file
rendered as exchangeInfo), loaded by the real Freqtrade through ccxt, read by SmartPortfolio through
the adapter, and traded in ``freqtrade backtesting``; the result agrees with ``smartpf backtest``
on the same file (the core reading the file directly). mexc's markets are inactive: Freqtrade drops them."""

from __future__ import annotations

import json

import pytest

from smartpf import paths
from smartpf.cli import main
from tests.support.exchanges import DATA, EXCHANGES

TIMERANGE = "20240101-20240201"
SECTION = {"assets": {"BTC": 40, "XRP": 30, "ADA": 30}, "investment": 1000, "threshold": 1}


@pytest.fixture
def config(tmp_path, datadir):
    example = json.loads((paths.REPO_ROOT / "user_data" / "config.example.json").read_text(encoding="utf-8"))
    example["smart_portfolio"] = SECTION
    example["exchange"]["pair_whitelist"] = ["BTC/USDT", "XRP/USDT", "ADA/USDT"]
    example["timeframe"] = "1h"
    path = tmp_path / "config.json"
    path.write_text(json.dumps(example), encoding="utf-8")
    return path


@pytest.mark.e2e
@pytest.mark.parametrize("name", [e for e in EXCHANGES if e != "mexc"])
def test_freqtrade_backtesting_on_each_exchanges_rules_matches_the_core(name, config, datadir, tmp_path, capsys):
    markets = str(DATA / f"{name}.json")
    export = tmp_path / "results"
    code = main(["ft-backtest", "-c", str(config), "--datadir", str(datadir), "--markets", markets,
                 "--timerange", TIMERANGE, "--export-dir", str(export)])
    out = capsys.readouterr()
    assert code == 0, out.out[-2000:] + out.err[-4000:]
    freqtrade = json.loads((export / "smartpf-summary.json").read_text())
    assert main(["backtest", "-c", str(config), "--datadir", str(datadir), "--markets", markets,
                 "--timerange", TIMERANGE, "--json"]) == 0
    core = json.loads(capsys.readouterr().out)
    assert freqtrade["orders"] == core["orders"] and freqtrade["rebalances"] == core["rebalances"] >= 1
    assert freqtrade["final_value"] == pytest.approx(core["final_value"], abs=0.01)
    assert freqtrade["fees"] == pytest.approx(core["fees"], abs=0.01)


@pytest.mark.e2e
def test_inactive_markets_are_not_traded(config, datadir, capsys):
    code = main(["ft-backtest", "-c", str(config), "--datadir", str(datadir), "--markets", str(DATA / "mexc.json"),
                 "--timerange", TIMERANGE])
    out = capsys.readouterr()
    assert code != 0
    assert "Ignoring BTC/USDT from whitelist. Market is not active." in out.err
    assert "No pair in whitelist" in out.err
