"""The portfolio inside Freqtrade's own channels: custom data, exit reasons, messages and the chart.

Freqtrade shows per-trade figures (FreqUI, Telegram, REST, webhooks). This module translates the portfolio
into them; what is said and when is decided in ``smartpf_core.channels``:

* each open trade's custom data carries the portfolio id, the coin's target, band and last order (its id,
  ``rb12:sell:ETH/USDT@<portfolio>``), written only when a value changes and never in a backtest;
* a sell's exit reason becomes a stable kind (``smartpf_rebalance``...) once it fills: Freqtrade sets the
  order tag and the exit reason from the one tag ``adjust_trade_position`` returns, and the bot's memory
  matches orders by that tag (``ft_order_tag``), which is never changed here;
* the announcements follow ``smart_portfolio.messages`` / ``message_min_value``, and a portfolio report is
  sent every ``smart_portfolio.report_every`` (Freqtrade's strategy messages: Telegram, webhooks);
* in dry-run and live the dataframe carries each coin's target, band and actual weight, drawn by FreqUI
  with ``PLOT_CONFIG``.
"""

from __future__ import annotations

import bisect
import logging
import re
from typing import Any

from freqtrade.enums import RunMode
from freqtrade.exchange import timeframe_to_seconds
from freqtrade.persistence import Trade
from pandas import DataFrame

from smartpf_core import Engine, Notice, Reason
from smartpf_core import channels as rules

from . import door as ftdoor

logger = logging.getLogger(__name__)

COLUMNS = ("smartpf_weight", "smartpf_target", "smartpf_band_low", "smartpf_band_high")
PLOT_CONFIG: dict[str, Any] = {
    "main_plot": {},
    "subplots": {
        "smartpf weight %": {
            "smartpf_weight": {"color": "#1f77b4"},
            "smartpf_target": {"color": "#2ca02c"},
            "smartpf_band_low": {"color": "#bbbbbb", "fill_to": "smartpf_band_high",
                                 "fill_color": "rgba(150,150,150,0.2)"},
            "smartpf_band_high": {"color": "#bbbbbb"},
        },
    },
}
KEYS = ("smartpf_portfolio", "smartpf_target_pct", "smartpf_band_pct", "smartpf_last_operation")
SAMPLES = 5000  # per pair: the weights of about three days of one-minute loops
_OUR_TAG = re.compile(r"^(?:init|rb|dep|wd|exit|adopt|out)\d+:")  # as smartpf.freqtrade.memory.OP_TAG


class Channels:
    """One per strategy instance (a reload builds a new one: the next report is then a period away)."""

    def __init__(self, config: dict) -> None:
        self.settings: rules.ChannelSettings = rules.channel_settings(config.get("smart_portfolio"))[0]
        self._written: dict[int, dict[str, Any]] = {}  # trade id -> custom data as stored
        self._last_report: float | None = None
        self._failing = False  # the custom data could not be written
        self._times: dict[str, list[float]] = {}  # pair -> loop times, ascending
        self._weights: dict[str, list[tuple[float, float, float, float]]] = {}  # pair -> COLUMNS at those times

    # ------------------------------------------------------------------ messages
    def announces(self, item: Notice | Reason) -> bool:
        """Whether a notice or a "no rebalance" reason goes to Telegram / webhooks (it is always logged)."""
        if isinstance(item, Notice):
            return rules.announce_notice(item, self.settings)
        return rules.announce_reason(item, self.settings)

    # ------------------------------------------------------------------ each loop (dry-run and live)
    def loop(self, strategy: Any, prices: dict[str, float], now: float) -> None:
        engine: Engine | None = strategy.engine
        if engine is None or strategy.dp.runmode not in (RunMode.DRY_RUN, RunMode.LIVE):
            return
        if not prices or not all(p in prices for p in engine.pairs):
            return
        details = engine.details(prices)
        coins = {c["pair"]: c for c in details["coins"]}
        self._sample(coins, now)
        try:
            self._custom_data(engine, coins)
        except Exception as exc:  # noqa: BLE001 - a display, never a reason to stop trading
            _rollback()  # leave Freqtrade's session usable for its own writes
            if not self._failing:  # said once, again only after it worked
                logger.warning("smartpf: cannot write the trades' custom data (%s); trading goes on", exc)
            self._failing = True
        else:
            self._failing = False
        self._report(strategy, engine, details, now)

    def _sample(self, coins: dict[str, dict], now: float) -> None:
        for pair, c in coins.items():
            times = self._times.setdefault(pair, [])
            rows = self._weights.setdefault(pair, [])
            if times and now <= times[-1]:
                continue
            times.append(now)
            rows.append((c["actual_pct"], c["target_pct"], c["band_low_pct"], c["band_high_pct"]))
            del times[:-SAMPLES], rows[:-SAMPLES]

    def _custom_data(self, engine: Engine, coins: dict[str, dict]) -> None:
        changed = False
        for trade in ftdoor.open_trades():
            coin = coins.get(trade.pair)
            if coin is None:
                continue
            wanted = {"smartpf_portfolio": engine.portfolio_id, "smartpf_target_pct": round(coin["target_pct"], 6),
                      "smartpf_band_pct": [round(coin["band_low_pct"], 6), round(coin["band_high_pct"], 6)],
                      "smartpf_last_operation": last_order_of(engine, trade.pair)}
            stored = self._written.get(trade.id)
            if stored is None:  # first sight since the start: what the database already holds
                stored = {k: trade.get_custom_data(k) for k in KEYS}
            for key, value in wanted.items():
                if value is not None and stored.get(key) != value:
                    trade.set_custom_data(key, value)  # (Freqtrade commits it)
                    stored[key] = value
            self._written[trade.id] = stored
            changed |= self._name_open_exit(engine, trade)
        if changed:
            Trade.commit()

    @staticmethod
    def _name_open_exit(engine: Engine, trade: Any) -> bool:
        """Freqtrade names an open trade's exit reason after the order tag when it places the sell; once the
        loop runs, the stable kind replaces it (the fill does the same, see ``name_exit``)."""
        reason = trade.exit_reason or ""
        kind = rules.exit_kind_of(reason, engine.records) if _OUR_TAG.match(reason) else None
        if kind is None:
            return False
        trade.exit_reason = kind
        return True

    def _report(self, strategy: Any, engine: Engine, details: dict, now: float) -> None:
        every = self.settings.report_every
        if every is None:
            return
        if self._last_report is None:
            self._last_report = now
            return
        if rules.report_due(self._last_report, now, every):
            self._last_report = now
            text = rules.portfolio_report(engine.portfolio_id, details, engine.spec.stake_currency)
            logger.info("smartpf: %s", text)
            strategy.dp.send_msg(f"smartpf: {text}", always_send=True)

    # ------------------------------------------------------------------ the chart
    def indicators(self, strategy: Any, dataframe: DataFrame, metadata: dict) -> DataFrame:
        """Each candle's weight, target and band as the bot saw them by the candle's close (dry-run, live)."""
        if strategy.dp is None or strategy.dp.runmode not in (RunMode.DRY_RUN, RunMode.LIVE):
            return dataframe
        pair = metadata.get("pair", "")
        times, rows = self._times.get(pair, []), self._weights.get(pair, [])
        seconds = timeframe_to_seconds(strategy.config.get("timeframe", strategy.timeframe))
        values: list[tuple[float, ...]] = []
        for date in dataframe["date"]:
            i = bisect.bisect_right(times, date.timestamp() + seconds) - 1
            values.append(rows[i] if i >= 0 else (float("nan"),) * len(COLUMNS))
        for n, column in enumerate(COLUMNS):
            dataframe[column] = [v[n] for v in values]
        return dataframe


def name_exit(engine: Engine | None, trade: Any, order: Any) -> None:
    """A filled sell of the portfolio: the trade's exit reason becomes its stable kind (backtests too, so that
    the exit-reason statistics group). The order keeps its tag, the engine order id the memory matches."""
    if engine is None or order.ft_order_side != trade.exit_side or not _OUR_TAG.match(order.ft_order_tag or ""):
        return
    kind = rules.exit_kind_of(order.ft_order_tag, engine.records)
    if kind is not None:
        trade.exit_reason = kind


def _rollback() -> None:
    try:
        Trade.session.rollback()
    except Exception as exc:  # noqa: BLE001 - nothing more to do about a broken session here
        logger.debug("smartpf: rollback after a failed custom-data write: %s", exc)


def last_order_of(engine: Engine, pair: str) -> str | None:
    """The id of the latest order of ``pair`` that traded (``rb12:sell:ETH/USDT@<portfolio>``)."""
    for record in reversed(engine.records):
        for trade in reversed(record.trades):
            if trade.pair == pair:
                return trade.order_id
    return None
