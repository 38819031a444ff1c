"""Test fixture: a plain SMA cross, to prove backtesting works against the replay exchange."""

from freqtrade.strategy import IStrategy
from pandas import DataFrame


class ReplaySmaCross(IStrategy):
    INTERFACE_VERSION = 3
    timeframe = "1h"
    minimal_roi = {"0": 10.0}
    stoploss = -0.99
    startup_candle_count = 30
    process_only_new_candles = True

    def populate_indicators(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe["fast"] = dataframe["close"].rolling(8).mean()
        dataframe["slow"] = dataframe["close"].rolling(21).mean()
        return dataframe

    def populate_entry_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        up = (dataframe["fast"] > dataframe["slow"]) & (dataframe["fast"].shift(1) <= dataframe["slow"].shift(1))
        dataframe.loc[up & (dataframe["volume"] > 0), "enter_long"] = 1
        return dataframe

    def populate_exit_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        down = (dataframe["fast"] < dataframe["slow"]) & (dataframe["fast"].shift(1) >= dataframe["slow"].shift(1))
        dataframe.loc[down, "exit_long"] = 1
        return dataframe
