"""Where the bot's prices come from, chosen once at start.

- ``CandleOracle`` (backtesting, hyperopt): the open of the candle dated ``current_time``, exactly what Freqtrade
  fills at (``conventions.FREQTRADE``); a candle Freqtrade filled up for a gap (volume 0) is missing: no trade on it.
  It also values the portfolio at every candle close (``summary.CandleCloses``) for ``smartpf-summary.json``.
- ``Ticker`` (dry-run, live): the exchange's last price, timed by the ticker, else by the latest closed candle.

The loop asks its source and never looks at the run mode itself.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Protocol

from smartpf_core import Engine
from smartpf_core.conventions import FREQTRADE

from .summary import CandleCloses, write_summary

logger = logging.getLogger("SmartPortfolio")  # the strategy's log lines keep its name (users filter on it)


@dataclass(frozen=True)
class Quote:
    """A loop's prices, and when each was seen (None: the backtest's candle time is the price's time)."""

    prices: dict[str, float]
    times: dict[str, float] | None = None


class PriceSource(Protocol):
    def start_prices(self, pairs: tuple[str, ...]) -> dict[str, float]: ...

    def quote(self, engine: Engine, now: float) -> Quote | None: ...

    def candle_done(self, engine: Engine, now: float) -> None: ...


class CandleOracle:
    """Backtest prices from Freqtrade's own candles (``dp.historic_ohlcv``), read once at start."""

    def __init__(self, dp: Any, config: dict[str, Any], timeframe: str, pairs: tuple[str, ...]) -> None:
        self.config = config
        self.opens: dict[str, dict[int, float]] = {}
        self.closes: dict[str, dict[int, float]] = {}
        self.first_ts: int | None = None
        self.last_ts: int | None = None
        for pair in pairs:
            df = dp.historic_ohlcv(pair, timeframe)
            keys = [int(d.timestamp()) for d in df["date"]]
            self.opens[pair] = {k: o for k, o, v in zip(keys, df["open"].tolist(), df["volume"].tolist(), strict=True)
                                if FREQTRADE.tradable(o, v)}
            self.closes[pair] = dict(zip(keys, df["close"].tolist(), strict=True))
            if keys:
                self.first_ts = keys[0] if self.first_ts is None else min(self.first_ts, keys[0])
                self.last_ts = keys[-1] if self.last_ts is None else max(self.last_ts, keys[-1])
        times = sorted(set().union(*(s.keys() for s in self.closes.values()))) if self.closes else []
        # Freqtrade fills an entry signal at the next candle's open: no decision before that candle
        self.first_trade_ts = times[min(FREQTRADE.first_trade_index, len(times) - 1)] if times else 0
        self.candles = CandleCloses(self.closes)

    def start_prices(self, pairs: tuple[str, ...]) -> dict[str, float]:
        return {p: s[min(s)] for p in pairs if (s := self.opens.get(p))}

    def quote(self, engine: Engine, now: float) -> Quote | None:
        ts = int(now)
        self.candles.candle_opened(engine, ts)
        if ts < self.first_trade_ts:
            return None
        return Quote({p: s[ts] for p, s in self.opens.items() if ts in s})

    def candle_done(self, engine: Engine, now: float) -> None:
        """After the last candle's loop or fill: the summary, with that candle closed."""
        if int(now) != self.last_ts or self.first_ts is None:
            return
        self.candles.close(engine, self.last_ts)
        candles = len(set().union(*(s.keys() for s in self.closes.values())))
        path = write_summary(self.config, engine, self.candles.tracker, self.first_ts, self.last_ts, candles)
        logger.info("smartpf: portfolio summary written to %s", path)


class Ticker:
    """Dry-run and live prices: the exchange's ticker through Freqtrade's DataProvider."""

    def __init__(self, dp: Any, timeframe: str, seconds: int) -> None:
        self.dp = dp
        self.timeframe = timeframe
        self.seconds = seconds  # of one candle of ``timeframe``

    def start_prices(self, pairs: tuple[str, ...]) -> dict[str, float]:
        return self.read(pairs).prices

    def quote(self, engine: Engine, now: float) -> Quote:
        return self.read(engine.ledger_pairs())  # the HODL shadow's coins too

    def candle_done(self, engine: Engine, now: float) -> None:
        return None

    def read(self, pairs: tuple[str, ...]) -> Quote:
        prices: dict[str, float] = {}
        times: dict[str, float] = {}
        for pair in pairs:
            if self.halted(pair):
                continue  # no price: the core says the coin is stale, and freezes it out after stale_after
            try:
                ticker = self.dp.ticker(pair)
            except Exception as exc:  # noqa: BLE001 - an unreachable exchange is a missing price
                logger.warning("smartpf: no price for %s: %s", pair, exc)
                continue
            price = ticker.get("last") or ticker.get("close") if ticker else None
            if price:
                prices[pair] = float(price)
                # a ticker without a time (ccxt's Kraken ticker, for one) is as fresh as the latest closed
                # candle, never "now"; with neither, the price has no time and counts as stale
                seen = ticker.get("timestamp")
                when = seen / 1000.0 if seen else self.closed_candle_time(pair)
                if when is not None:
                    times[pair] = when
        return Quote(prices, times)

    def halted(self, pair: str) -> bool:
        """A market the exchange halted or delisted: ccxt's ``active`` is false, or the pair is gone from the
        exchange's markets (Freqtrade reloads them every hour). Its last ticker is no price to trade on."""
        try:
            market = self.dp.market(pair)
        except Exception:  # noqa: BLE001 - markets not readable: the ticker decides, as before
            return False
        return market is None or (isinstance(market, dict) and market.get("active") is False)

    def closed_candle_time(self, pair: str) -> float | None:
        """When the latest closed candle of ``pair`` closed, from Freqtrade's data provider."""
        try:
            df = self.dp.ohlcv(pair, self.timeframe)
        except Exception:  # noqa: BLE001 - no candles means no time
            return None
        if df is None or len(df) == 0:
            return None
        return float(df["date"].iloc[-1].timestamp() + self.seconds)
