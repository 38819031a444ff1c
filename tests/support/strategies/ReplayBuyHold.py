"""Test fixture: enter every whitelisted pair at once and hold, so a short dry-run opens trades."""

from freqtrade.strategy import IStrategy
from pandas import DataFrame


class ReplayBuyHold(IStrategy):
    INTERFACE_VERSION = 3
    timeframe = "1m"
    minimal_roi = {"0": 10.0}
    stoploss = -0.99
    startup_candle_count = 10
    process_only_new_candles = True

    def populate_indicators(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        return dataframe

    def populate_entry_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe["enter_long"] = 1
        return dataframe

    def populate_exit_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe["exit_long"] = 0
        return dataframe
