"""Benchmark baseline: buy every pair on the first candle with an equal stake and hold to the end."""

from freqtrade.strategy import IStrategy
from pandas import DataFrame


class BuyAndHold(IStrategy):
    INTERFACE_VERSION = 3
    timeframe = "1m"
    minimal_roi: dict = {}  # noqa: RUF012
    stoploss = -1.0
    startup_candle_count = 0
    process_only_new_candles = True

    def populate_indicators(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        return dataframe

    def populate_entry_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe["enter_long"] = 1
        return dataframe

    def populate_exit_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe["exit_long"] = 0
        return dataframe
