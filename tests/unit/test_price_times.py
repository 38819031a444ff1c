"""The strategy's live prices carry honest times: a ticker without a timestamp is as fresh as the latest
closed candle from Freqtrade's data provider, never the wall clock (issue 8, section 5)."""

from __future__ import annotations

import sys
from datetime import UTC, datetime

import pandas as pd

from smartpf import paths

sys.path.insert(0, str(paths.REPO_ROOT / "strategies"))
from SmartPortfolio import SmartPortfolio  # noqa: E402


class FakeDataProvider:
    def __init__(self, tickers: dict, candles: dict) -> None:
        self.tickers, self.candles = tickers, candles

    def ticker(self, pair):
        return self.tickers[pair]

    def ohlcv(self, pair, timeframe):
        return self.candles.get(pair, pd.DataFrame({"date": []}))


def strategy(tickers, candles):
    s = object.__new__(SmartPortfolio)  # only _live_prices is exercised: no Freqtrade set-up
    s.config = {"timeframe": "1m"}
    s.dp = FakeDataProvider(tickers, candles)
    return s


def test_a_ticker_without_a_timestamp_takes_the_latest_closed_candle_time():
    last_open = datetime(2026, 4, 1, 12, 0, tzinfo=UTC)
    candles = {"BTC/USDT": pd.DataFrame({"date": [pd.Timestamp(last_open) - pd.Timedelta(minutes=1),
                                                  pd.Timestamp(last_open)]})}
    tickers = {"BTC/USDT": {"last": 100.0, "timestamp": None},  # ccxt's Kraken ticker
               "ETH/USDT": {"last": 10.0, "timestamp": 1775044800123},
               "SOL/USDT": {"last": 20.0, "timestamp": None}}  # and no candles either
    prices, times = strategy(tickers, candles)._live_prices(("BTC/USDT", "ETH/USDT", "SOL/USDT"))
    assert prices == {"BTC/USDT": 100.0, "ETH/USDT": 10.0, "SOL/USDT": 20.0}
    assert times["BTC/USDT"] == last_open.timestamp() + 60  # the candle closed one minute after it opened
    assert times["ETH/USDT"] == 1775044800.123
    assert "SOL/USDT" not in times  # no time at all: the engine treats the price as stale
