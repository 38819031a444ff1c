"""The bot's live prices (``smartpf.freqtrade.prices.Ticker``, its price source in dry-run and live) carry honest
times: a ticker without a timestamp is as fresh as the latest closed candle from Freqtrade's data provider, never
the wall clock (issue 8, section 5)."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd

from smartpf.freqtrade.prices import Ticker


class FakeDataProvider:
    def __init__(self, tickers: dict, candles: dict) -> None:
        self.tickers, self.candles = tickers, candles

    def ticker(self, pair):
        return self.tickers[pair]

    def ohlcv(self, pair, timeframe):
        return self.candles.get(pair, pd.DataFrame({"date": []}))


def live_prices(tickers, candles, pairs):
    quote = Ticker(FakeDataProvider(tickers, candles), "1m", 60).read(pairs)  # no Freqtrade set-up
    return quote.prices, quote.times


def test_a_ticker_without_a_timestamp_takes_the_latest_closed_candle_time():
    last_open = datetime(2026, 4, 1, 12, 0, tzinfo=UTC)
    candles = {"BTC/USDT": pd.DataFrame({"date": [pd.Timestamp(last_open) - pd.Timedelta(minutes=1),
                                                  pd.Timestamp(last_open)]})}
    tickers = {"BTC/USDT": {"last": 100.0, "timestamp": None},  # ccxt's Kraken ticker
               "ETH/USDT": {"last": 10.0, "timestamp": 1775044800123},
               "SOL/USDT": {"last": 20.0, "timestamp": None}}  # and no candles either
    prices, times = live_prices(tickers, candles, ("BTC/USDT", "ETH/USDT", "SOL/USDT"))
    assert prices == {"BTC/USDT": 100.0, "ETH/USDT": 10.0, "SOL/USDT": 20.0}
    assert times["BTC/USDT"] == last_open.timestamp() + 60  # the candle closed one minute after it opened
    assert times["ETH/USDT"] == 1775044800.123
    assert "SOL/USDT" not in times  # no time at all: the engine treats the price as stale
