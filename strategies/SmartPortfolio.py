"""SmartPortfolio: the Smart Portfolio rebalancer as a Freqtrade strategy.

A portfolio of coins held at target weights and rebalanced by the rules of ``smartpf_core``. This file only
declares the strategy and hands each of Freqtrade's callbacks to ``PortfolioBot`` (``smartpf/freqtrade/bot.py``),
which owns the portfolio: Freqtrade owns the exchange, the trade database and the loop.

- ``bot_start``: resume this trade database's portfolio, begin a new one, or refuse to start (exit 2);
- ``bot_loop_start``: once per loop the engine decides, from prices and the open trades;
- ``custom_stake_amount`` / ``confirm_trade_entry``: the initial purchase, through the entry signal;
- ``adjust_trade_position``: rebalancing (sells first; buys on the next loop, once the sells filled);
- ``order_filled``: a fill booked; after a restart the trade database is the truth.

Settings: the ``smart_portfolio`` section of the Freqtrade config (``smartpf validate -c CONFIG`` checks it).
The portfolio is kept in the trade database itself; ``user_data/smartpf/portfolio-<id>.json`` is a readable
export (docs/architecture.md).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from freqtrade.enums import RunMode
from freqtrade.persistence import Order, Trade
from freqtrade.strategy import IStrategy
from pandas import DataFrame

from smartpf.freqtrade import channels, door
from smartpf.freqtrade.bot import PortfolioBot


class SmartPortfolio(IStrategy):
    INTERFACE_VERSION = 3
    timeframe = "1m"
    can_short = False
    # No per-trade risk rules: the portfolio has its own take-profit / stop-loss.
    stoploss = -1.0
    minimal_roi: dict = {}  # noqa: RUF012 - Freqtrade reads a class attribute
    trailing_stop = False
    use_exit_signal = False
    position_adjustment_enable = True  # switched per loop by the bot: on only when it has an order to place
    max_entry_position_adjustment = -1
    process_only_new_candles = True
    plot_config = channels.PLOT_CONFIG  # FreqUI: each coin's weight against its target and band
    startup_candle_count = 0
    order_types = {  # noqa: RUF012
        "entry": "market", "exit": "market", "emergency_exit": "market", "force_entry": "market",
        "force_exit": "market", "stoploss": "market", "stoploss_on_exchange": False,
    }

    def __init__(self, config: dict) -> None:
        super().__init__(config)
        self.bot = PortfolioBot(self, config)  # checks the settings: a bad one refuses the start here
        if self.bot.pair_count:
            self.max_open_trades = self.bot.pair_count

    def bot_start(self, **kwargs: Any) -> None:
        self.bot.start(backtesting=self.dp.runmode in (RunMode.BACKTEST, RunMode.HYPEROPT))

    def ft_bot_cleanup(self) -> None:
        super().ft_bot_cleanup()
        self.bot.stopped()

    def bot_loop_start(self, current_time: datetime, **kwargs: Any) -> None:
        self.bot.loop(current_time.timestamp())

    def populate_indicators(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        return self.bot.channels.indicators(self.bot, dataframe, metadata)  # dry-run, live: weight vs band

    def populate_entry_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        # Willing while the portfolio trades: whether a coin is really bought is the bot's custom_stake_amount.
        dataframe["enter_long"] = int(self.bot.wants_entries())
        dataframe["enter_tag"] = self.bot.entry_tag()
        return dataframe

    def populate_exit_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe["exit_long"] = 0
        return dataframe

    def custom_stake_amount(self, pair: str, current_time: datetime, current_rate: float, proposed_stake: float,
                            min_stake: float | None, max_stake: float, leverage: float, entry_tag: str | None,
                            side: str, **kwargs: Any) -> float:
        return self.bot.stake_for(pair, current_rate)

    def confirm_trade_entry(self, pair: str, order_type: str, amount: float, rate: float, time_in_force: str,
                            current_time: datetime, entry_tag: str | None, side: str, **kwargs: Any) -> bool:
        return self.bot.entry_confirmed(pair)

    def adjust_trade_position(self, trade: Trade, current_time: datetime, current_rate: float,
                              current_profit: float, min_stake: float | None, max_stake: float,
                              current_entry_rate: float, current_exit_rate: float, current_entry_profit: float,
                              current_exit_profit: float, **kwargs: Any) -> tuple[float, str] | None:
        return self.bot.adjustment(trade, current_rate)

    def order_filled(self, pair: str, trade: Trade, order: Order, current_time: datetime, **kwargs: Any) -> None:
        self.bot.filled(pair, trade, order, current_time.timestamp())


# Freqtrade deep-copies ``trade`` before every user callback that takes one (strategy_wrapper.py), which makes
# long rebalancing backtests quadratic in the number of orders. These two callbacks only read the trade, so they
# are presented as IStrategy's own, which skips the copy (see door.skip_trade_copy).
door.skip_trade_copy(SmartPortfolio, "adjust_trade_position", "order_filled")
