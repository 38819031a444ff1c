"""End to end, offline, on OKX's and XT's own APIs (``smartpf replay --protocol okx|xt`` with that
exchange's ccxt markets file), with the real programs and user_data/config.replay-<protocol>.json:

- ccxt's class of the exchange loads the markets from the replay with the file's rules, and
  ``freqtrade list-markets`` lists the pairs under the exchange's own ids, with the minimum stake
  Freqtrade derives from the exchange's minimums;
- ``freqtrade download-data`` pages through the exchange's candle endpoints (OKX: history-candles,
  300 a page, newest first; XT: kline, 1000 a page) and writes candles identical to the source files;
- ``freqtrade backtesting`` of SmartPortfolio on the downloaded candles agrees with
  ``smartpf backtest --markets <that file>`` on the source (0.5 % of the final value, +-1 rebalance);
- the server saw no unknown path.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace

import ccxt
import pandas as pd
import pytest

from smartpf import paths
from smartpf.cli import main
from smartpf.markets import rules_from_ccxt_market
from smartpf.replay.runner import run_freqtrade, running_replay
from tests.support.exchanges import DATA
from tests.support.freqtrade_runs import smartpf_config

pytestmark = pytest.mark.e2e
TIMERANGE = "20240101-20240201"
BASKETS = {"okx": ("BTC", "ETH", "XRP"), "xt": ("BTC", "SOL", "XRP")}
IDS = {"okx": "{base}-USDT", "xt": "{base_lower}_usdt"}
PATHS = {"okx": "/api/v5/market/history-candles", "xt": "/v4/public/kline"}


def _same_rules(protocol: str, config: dict, pairs: list[str]) -> None:
    """ccxt's own class, pointed at the replay, reads the file's precision and minimums (the rules
    smartpf trades by). ccxt 4.5.90 also derives maxima the trimmed fixtures do not state."""
    api = getattr(ccxt, protocol)({**config["exchange"]["ccxt_config"]})
    loaded = api.load_markets()
    expected = json.loads((DATA / f"{protocol}.json").read_text())
    for pair in pairs:
        assert loaded[pair]["id"] == expected[pair]["id"]
        for kind in ("amount", "price"):
            assert loaded[pair]["precision"][kind] == expected[pair]["precision"][kind], pair
        # the maximum quantity aside: ccxt derives one the trimmed fixture does not state
        assert replace(rules_from_ccxt_market(loaded[pair]), max_amount=0) == replace(
            rules_from_ccxt_market(expected[pair]), max_amount=0), pair
        for kind in ("amount", "cost"):
            assert loaded[pair]["limits"][kind].get("min") == expected[pair]["limits"][kind].get("min"), pair


def _last_price(ex, protocol: str, market_id: str) -> float:
    if protocol == "okx":
        return float(ex.get("/api/v5/market/ticker", instId=market_id)[1]["data"][0]["last"])
    return float(ex.get("/v4/public/ticker/24h", symbol=market_id)[1]["result"][0]["c"])


@pytest.mark.parametrize("protocol", ["okx", "xt"])
def test_list_download_and_backtest_agree_with_the_core(protocol, tmp_path, capsys):
    coins = BASKETS[protocol]
    pairs = [f"{c}/USDT" for c in coins]
    markets = DATA / f"{protocol}.json"
    section = {"assets": dict(zip(coins, (40, 30, 30), strict=True)), "investment": 1000, "threshold": 1}
    with running_replay(protocol=protocol, markets=markets, pairs=pairs, timeframes=["1h"]) as ex:
        config_path = smartpf_config(ex, tmp_path, section, timeframe="1h")
        userdir, datadir = tmp_path / "user_data", tmp_path / "downloaded"
        _same_rules(protocol, ex.config_for(), pairs)

        listed = run_freqtrade("list-markets", "-c", config_path, "--userdir", userdir, "--quote", "USDT",
                               "--print-csv")
        assert listed.returncode == 0, listed.stderr[-3000:]
        rows = {r["Symbol"]: r for r in csv.DictReader(io.StringIO(listed.stdout))}
        assert set(rows) == set(pairs), listed.stdout
        rules = json.loads(markets.read_text())
        for coin in coins:
            row, limits = rows[f"{coin}/USDT"], rules[f"{coin}/USDT"]["limits"]
            market_id = IDS[protocol].format(base=coin, base_lower=coin.lower())
            assert row["Id"] == market_id and row["Spot"] == "Spot"
            # Freqtrade's minimum stake, from the exchange's own minimums and the served last price (x 1.05)
            last = _last_price(ex, protocol, market_id)
            floor = max(limits["cost"].get("min") or 0, (limits["amount"].get("min") or 0) * last)
            assert float(row["Min Stake"]) == pytest.approx(floor * 1.05, rel=1e-6), (row, floor)

        got = run_freqtrade("download-data", "-c", config_path, "--userdir", userdir, "--datadir", datadir,
                            "--timerange", TIMERANGE, "-t", "1h")
        assert got.returncode == 0, got.stderr[-3000:]
        for coin in coins:
            name = f"{coin}_USDT-1h.feather"
            mine = pd.read_feather(datadir / name)
            source = pd.read_feather(paths.DEFAULT_DATADIR / name)
            source = source[source.date.between(mine.date.min(), mine.date.max())].reset_index(drop=True)
            assert mine.date.min() <= pd.Timestamp("2024-01-01", tz="UTC") and len(mine) >= 31 * 24
            assert (mine.date.dt.tz_convert(None).to_numpy().astype("datetime64[ms]")
                    == source.date.dt.tz_convert(None).to_numpy().astype("datetime64[ms]")).all()
            assert mine.drop(columns="date").equals(source.drop(columns="date")), name

        bt = run_freqtrade("backtesting", "-c", config_path, "--userdir", userdir, "--datadir", datadir,
                           "--timerange", TIMERANGE, "--cache", "none", "--export", "none", timeout=600)
        assert bt.returncode == 0, bt.stdout[-2000:] + bt.stderr[-4000:]
        state = ex.state()
        assert state["unknown_paths"] == {}, ex.log_text()[-2000:]
        assert state["requests"].get(PATHS[protocol], 0) >= 2  # paged
    freqtrade = json.loads((tmp_path / "results" / "smartpf-summary.json").read_text())
    assert main(["backtest", "-c", str(config_path), "--markets", str(markets), "--timerange", TIMERANGE,
                 "--json"]) == 0
    core = json.loads(capsys.readouterr().out)
    print(f"{protocol}: freqtrade final {freqtrade['final_value']} rebalances {freqtrade['rebalances']} orders "
          f"{freqtrade['orders']}; core final {core['final_value']} rebalances {core['rebalances']} "
          f"orders {core['orders']}")
    assert freqtrade["start"] == core["start"] and freqtrade["end"] == core["end"]
    assert freqtrade["final_value"] == pytest.approx(core["final_value"], rel=0.005)
    assert abs(freqtrade["rebalances"] - core["rebalances"]) <= 1 and core["rebalances"] >= 1
