"""SmartPortfolio: the Smart Portfolio rebalancer as a Freqtrade strategy (a thin adapter).

Every rule lives in ``smartpf_core``; this class only translates. Each loop (``bot_loop_start``) it
builds a snapshot (prices, holdings from the open trades, open orders) and asks the engine for a
decision; the per-pair callbacks then carry out the engine's orders: the initial purchase through
the entry signal and ``custom_stake_amount``, rebalancing through ``adjust_trade_position`` (sells
first; buys on the next loop, once the sells have filled). Fills come back through
``order_filled`` and, after a restart, from the trade database, which is the truth.

Settings: the ``smart_portfolio`` section of the Freqtrade config (see the README). The portfolio is
kept in the trade database itself (``smartpf.freqtrade.store``), so it can never be resumed against another
database's trades; ``user_data/smartpf/portfolio-<id>.json`` is a readable export.
"""

from __future__ import annotations

import logging
import math
import time
from datetime import UTC, datetime
from typing import Any

from freqtrade.enums import RunMode
from freqtrade.exceptions import OperationalException
from freqtrade.exchange import timeframe_to_seconds
from freqtrade.persistence import Trade
from freqtrade.strategy import IStrategy
from pandas import DataFrame

from smartpf.freqtrade import door, history
from smartpf.freqtrade.client_ids import client_order_id
from smartpf.freqtrade.markets import rules_from_ccxt_market
from smartpf.freqtrade.memory import Memory, open_amounts, recall
from smartpf.freqtrade.orphans import OrphanWatch
from smartpf.freqtrade.reconcile import entry_tag, fill_from, order_entry_tag, reconcile
from smartpf.freqtrade.statefile import StateFileError, export_path, legacy_path, write_state
from smartpf.freqtrade.store import PortfolioRow, PortfolioStore, SaveError, StoreError, new_portfolio_id
from smartpf.freqtrade.summary import CandleCloses, write_summary
from smartpf_core import Engine, Order, PortfolioSpec, Snapshot, check_config, investment_problems
from smartpf_core import events as ev
from smartpf_core.conventions import FREQTRADE
from smartpf_core.sizing import entry_stake, exit_stake
from smartpf_core.spec import settings_change_problem
from smartpf_core.startup import REFUSE, TERMINATED

logger = logging.getLogger(__name__)

QUIET_REASONS = (ev.BELOW_THRESHOLD, ev.WAITING_FOR_CHECK, ev.NOT_SCHEDULED, ev.IN_PROGRESS, ev.BALANCED,
                 ev.TERMINATED, ev.DIVERGED)  # (diverged: its notice says it once)
SKIP_MESSAGE_EVERY = 3600.0  # seconds between two messages about the same kind of skipped rebalance


class SmartPortfolioError(ValueError):
    """Refuses to start. A ValueError, so that Freqtrade logs one line (no traceback) and exits 2."""


class _OneRefusalLine(logging.Filter):
    """Freqtrade's strategy wrapper logs a refusal's exception (its repr and a traceback summary) before
    Freqtrade logs its message and exits 2: drop that first, raw copy, so the refusal reads once."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "SmartPortfolioError(" not in record.getMessage()


_REFUSAL_FILTER = _OneRefusalLine()
logging.getLogger("freqtrade.strategy.strategy_wrapper").addFilter(_REFUSAL_FILTER)


class SmartPortfolio(IStrategy):
    INTERFACE_VERSION = 3
    timeframe = "1m"
    can_short = False
    # No per-trade risk rules: the portfolio has its own take-profit / stop-loss.
    stoploss = -1.0
    minimal_roi: dict = {}  # noqa: RUF012 - Freqtrade reads a class attribute
    trailing_stop = False
    use_exit_signal = False
    position_adjustment_enable = True
    max_entry_position_adjustment = -1
    process_only_new_candles = True
    startup_candle_count = 0
    order_types = {  # noqa: RUF012
        "entry": "market", "exit": "market", "emergency_exit": "market", "force_entry": "market",
        "force_exit": "market", "stoploss": "market", "stoploss_on_exchange": False,
    }

    def __init__(self, config: dict) -> None:
        super().__init__(config)
        self._bot = str(config.get("bot_name") or "freqtrade")
        self._reload = door.was_started(self._bot)
        self._problems: list[str] = []
        result = check_config(config)  # the one check, also behind `smartpf validate`
        self._new_spec: PortfolioSpec | None = result.spec
        for warning in result.warnings:
            logger.warning("smartpf: %s", warning)
        problems = [str(p) for p in result.errors]
        if result.spec is not None:
            self.max_open_trades = len(result.spec.pairs)
        if problems:
            self._new_spec = None
            self._problems = problems
            if not self._reload:
                raise OperationalException("smartpf: the bot will not start:\n  " + "\n  ".join(problems))
        self.engine: Engine | None = None
        self._orders: dict[str, Order] = {}
        self._oracle: dict[str, dict[int, float]] = {}
        self._closes: dict[str, dict[int, float]] = {}
        self._first_ts: int | None = None
        self._first_trade_ts = 0  # backtesting: the candle of the first purchase
        self._last_ts: int | None = None
        self._candles = CandleCloses(self._closes)
        self._last_message: dict[str, float] = {}
        self._io_failing: dict[str, str] = {}  # a write that fails (save, export) -> what was said about it
        self._sending: dict[tuple[str, str], tuple[str, float]] = {}  # (pair, side) -> engine order id, when

    # ------------------------------------------------------------------ start
    @property
    def _backtesting(self) -> bool:
        return self.dp.runmode in (RunMode.BACKTEST, RunMode.HYPEROPT)

    def bot_start(self, **kwargs: Any) -> None:
        spec = self._new_spec
        self._store: PortfolioStore | None = None
        self._row: PortfolioRow | None = None
        memory: Memory | None = None
        if self._backtesting:
            self._build_oracle(spec)
        else:
            memory = self._recall()
            self.engine = memory.engine
        pairs = (spec or self.engine.spec).pairs
        markets = {p: self.dp.market(p) for p in pairs}
        rules = {p: rules_from_ccxt_market(m) for p, m in markets.items() if m}
        problems = list(self._problems)
        problems += [f"exchange.pair_whitelist: {p} is not a market on {self.config['exchange']['name']}"
                     for p, m in markets.items() if not m or not m.get("active", True)]
        terminated = memory is not None and memory.decision.action == TERMINATED
        if spec is not None and not terminated:
            problems += self._check_funding(spec, rules)
        if problems:
            text = "smartpf: " + ("invalid settings change rejected, the last good settings stay in force:\n  "
                                  if self._reload and self.engine else "the bot will not start:\n  ")
            text += "\n  ".join(problems)
            if not (self._reload and self.engine):
                raise SmartPortfolioError(text)
            self._rejected(text, problems)
        elif terminated:
            info = self.engine.termination or {}
            logger.warning("smartpf: portfolio %s is terminated (%s); it trades no more and asks Freqtrade for no "
                           "entries. `smartpf reset -c CONFIG` archives it; the next start then buys a new basket.",
                           self._row.id, info.get("why", "terminated"))
        elif self.engine is None:
            # a backtest's portfolio has no id: its tags stay the plain ones (rb3:sell:ETH/USDT)
            self.engine = Engine(spec, rules, portfolio_id=new_portfolio_id() if self._store is not None else "")
            if self._store is not None:
                try:
                    self._row = self._store.create(self.engine, self._bot)
                except SaveError as exc:
                    raise SmartPortfolioError(f"smartpf: the bot will not start: the new portfolio cannot be saved "
                                              f"to the trade database ({exc})") from exc
                logger.info("smartpf: %s; new portfolio %s: %s", memory.decision.message, self._row.id,
                            _describe(spec))
                self._warn_unmanaged_coins(spec)
            else:
                logger.info("smartpf: new portfolio %s", _describe(spec))
        else:
            if not self._reload:
                self._check_history(self.engine)
            stale = settings_change_problem(self.engine.spec, spec)  # a stale file, an unasked withdrawal
            if stale:  # the exchange's current rules still apply; the settings in force stay
                self.engine.update_spec(self.engine.spec, rules)
            accepted, notices = (False, []) if stale else self.engine.update_spec(spec, rules)
            if not accepted:
                problems = [stale or n.message for n in notices or [None]]
                if not self._reload:
                    raise SmartPortfolioError("smartpf: the bot will not start:\n  " + "\n  ".join(problems))
                self._rejected("smartpf: settings change rejected, the settings in force stay:\n  "
                               + "\n  ".join(problems), problems)
                notices = []
            for notice in notices:
                self._tell(notice.message, always=True)
            if not self._reload:  # once per start; a reload says only what changed (above)
                logger.info("smartpf: resumed portfolio %s from the trade database: %s", self.engine.portfolio_id,
                            _describe(self.engine.spec))
        if not self._backtesting and not self.config.get("dry_run", True):
            door.name_orders(door.exchange_of(self.dp), self._client_id_for)
        door.mark_started(self._bot)
        self._persist()
        if self._store is not None and self._row is not None:
            self._store.mark_run(self._row.id, started=time.time())

    def ft_bot_cleanup(self) -> None:
        """Freqtrade's clean stop (and the old strategy's end at a reload): recorded, so that `smartpf reset`
        right after a clean stop is allowed (a kill records nothing)."""
        super().ft_bot_cleanup()
        store, row = getattr(self, "_store", None), getattr(self, "_row", None)
        if store is not None and row is not None:
            try:
                store.mark_run(row.id, stopped=time.time())
            except Exception as exc:  # noqa: BLE001 - a stop must never fail on its bookkeeping
                logger.warning("smartpf: could not record the clean stop: %s", exc)

    def _rejected(self, text: str, problems: list[str]) -> None:
        """A reload the bot refused: logged, told, and saved with the change's generation, so that the command
        that asked for this change (smartpf.steer) knows it is about its own change."""
        section = self.config.get("smart_portfolio")
        generation = section.get("generation") if isinstance(section, dict) else None
        if self._store is not None and self._row is not None:
            try:
                self._store.save_view(self._row.id, rejected={"at": time.time(), "problems": problems,
                                                              "generation": generation})
            except SaveError as exc:
                logger.warning("smartpf: cannot save the rejected change for `smartpf why` (%s)", exc)
        logger.error(text)
        self.dp.send_msg(text, always_send=True)

    def _check_history(self, engine: Engine) -> None:
        """Operation ids never repeat and the exchange's history is the truth (smartpf.freqtrade.history): a trade
        database behind it (a restored backup) refuses the start, naming the orders and the command."""
        exchange = None if self.config.get("dry_run", True) else door.exchange_of(self.dp)
        try:
            lost, dropped = history.check(engine, self.config["user_data_dir"], exchange)
        except history.HistoryUnreadable as exc:
            raise SmartPortfolioError(f"smartpf: the bot will not start: {exc}") from exc
        for order_id in dropped:
            logger.warning("smartpf: %s: a later operation of this portfolio followed it (the database was restored "
                           "from an older copy): not sent again", order_id)
        if lost:
            raise SmartPortfolioError(history.refusal(engine, lost, self.config.get("db_url", "")))

    def _client_id_for(self, pair: str, side: str) -> str | None:
        """The client order id of the engine order Freqtrade is sending now on ``pair`` (see door.name_orders)."""
        sending = self.__dict__.setdefault("_sending", {}).pop((pair, side), None)
        if sending is None or time.monotonic() - sending[1] > 60.0:
            return None
        return client_order_id(sending[0])

    def _sent(self, order: Order) -> None:
        """The engine's order is handed to Freqtrade now: its client order id goes with it."""
        self.engine.order_placed(order.id)
        self.__dict__.setdefault("_sending", {})[(order.pair, order.side)] = (order.id, time.monotonic())

    def _recall(self) -> Memory:
        """Find this database's portfolio and decide: resume, new, terminated, or refuse (Freqtrade exits 2)."""
        self._store = PortfolioStore(door.own_session())  # a failed save never touches Freqtrade's session
        self._store.create_tables()
        trades = door.open_trades()
        tags = door.all_order_tags()
        legacy = legacy_path(self.config["user_data_dir"], self._bot)
        try:
            memory = recall(self._store, open_amounts(trades), tags, legacy, self._bot)
        except SaveError as exc:
            raise SmartPortfolioError(f"smartpf: the bot will not start: the imported portfolio cannot be saved to "
                                      f"the trade database ({exc})") from exc
        except (StoreError, StateFileError) as exc:
            raise SmartPortfolioError(f"smartpf: the bot will not start: {exc}; move the file away (or run "
                                      f"`smartpf reset -c CONFIG`) to let the bot decide without it") from exc
        for note in memory.notes:
            logger.warning("smartpf: %s", note)
        if memory.decision.action == REFUSE:
            raise SmartPortfolioError(_refusal(memory, self.config.get("db_url", "")))
        self._row = memory.row
        return memory

    def _warn_unmanaged_coins(self, spec: PortfolioSpec) -> None:
        """Live: coins of the basket already in the account are not the new portfolio's; say so."""
        if self.config.get("dry_run", True) or not self.wallets:
            return
        held = [f"{c} {self.wallets.get_total(c):g}" for c in spec.coins if self.wallets.get_total(c) > 0]
        if held:
            self._tell("the account already holds " + ", ".join(held) + ": the new portfolio does not count "
                       "them (it buys its own basket); use `smartpf adopt` only for the trades of a lost portfolio",
                       always=True)

    def _build_oracle(self, spec: PortfolioSpec | None) -> None:
        """Backtest prices: the open of the candle dated current_time, exactly what Freqtrade fills at.
        A candle Freqtrade filled up for a gap (volume 0) counts as missing: no trade on it."""
        timeframe = self.config.get("timeframe", self.timeframe)
        for pair in spec.pairs if spec else ():
            df = self.dp.historic_ohlcv(pair, timeframe)
            keys = [int(d.timestamp()) for d in df["date"]]
            self._oracle[pair] = {k: o for k, o, v in zip(keys, df["open"].tolist(), df["volume"].tolist(), strict=True)
                                  if FREQTRADE.tradable(o, v)}
            self._closes[pair] = dict(zip(keys, df["close"].tolist(), strict=True))
            if keys:
                self._first_ts = keys[0] if self._first_ts is None else min(self._first_ts, keys[0])
                self._last_ts = keys[-1] if self._last_ts is None else max(self._last_ts, keys[-1])
        times = sorted(set().union(*(s.keys() for s in self._closes.values()))) if self._closes else []
        if times:
            self._first_trade_ts = times[min(FREQTRADE.first_trade_index, len(times) - 1)]

    def _check_funding(self, spec: PortfolioSpec, rules: dict) -> list[str]:
        problems = []
        prices = self._start_prices(spec)
        if prices and all(p > 0 for p in prices.values()):
            for problem in investment_problems(spec, rules, prices)[1]:
                if problem.level == "error":
                    problems.append(str(problem))
                else:
                    logger.warning("smartpf: %s", problem)
        # the bot's own open positions count (at their stake), or every restart would refuse
        fundable = self.wallets.get_total_stake_amount() if self.wallets else math.inf
        if spec.investment > fundable + 1e-6:
            problems.append(f"smart_portfolio.investment = {spec.investment:g}: more than the account can fund "
                            f"({fundable:.2f} {spec.stake_currency} including the bot's open positions)"
                            + _dry_run_wallet_hint(self.config, spec.investment - fundable))
        return problems

    def _start_prices(self, spec: PortfolioSpec) -> dict[str, float]:
        if self._backtesting:
            out = {}
            for pair in spec.pairs:
                series = self._oracle.get(pair) or {}
                if series:
                    out[pair] = series[min(series)]
            return out
        prices, _ = self._live_prices(spec.pairs)
        return prices

    # ------------------------------------------------------------------ each loop
    def bot_loop_start(self, current_time: datetime, **kwargs: Any) -> None:
        engine = self.engine
        if engine is None:
            return
        now = current_time.timestamp()
        trades = door.open_trades()
        if self._backtesting:
            ts = int(now)
            self._candles.candle_opened(engine, ts)
            if ts < self._first_trade_ts:
                return  # Freqtrade fills an entry signal at the next candle's open (conventions.FREQTRADE)
            prices = {p: s[ts] for p, s in self._oracle.items() if ts in s}
            times = None
        else:
            op_started = engine.operation_started_at() or 0.0
            blind = self._ask_the_exchange(engine, now, op_started)
            for line in reconcile(engine, self._trades_by_pair(engine), now, op_started):
                logger.info("smartpf: %s", line)
            prices, times = self._live_prices(engine.ledger_pairs())  # the HODL shadow's coins too
            trades = door.open_trades()  # again: an adopted fill may have changed or opened a trade
        holdings = {t.pair: float(t.amount) for t in trades}
        ours = {o.id for o in engine.pending_orders()}
        foreign = frozenset(t.pair for t in trades if t.has_open_orders and not any(
            o.ft_order_tag in ours for o in t.orders if o.ft_is_open)) | (set() if self._backtesting else blind)
        if not self._backtesting and not self.config.get("dry_run", True):
            # Live: Freqtrade refreshes its wallet only after its own orders: re-read the exchange's balance,
            # or money moved outside the bot (a withdrawal) would buy with cash that is not there.
            try:
                self.wallets.update()
            except Exception as exc:  # noqa: BLE001 - an unreachable exchange: decide nothing blind
                logger.warning("smartpf: cannot read the account's balance (%s): no order this loop", exc)
                self._orders = {}
                return
            # the account's coins, so that coins gone from it (moved outside the bot) stop trading (the core decides)
            balances = {p: float(self.wallets.get_total(p.split("/")[0])) for p in engine.pairs}
        else:
            balances = None
        spendable = None if self._backtesting else self.wallets.get_available_stake_amount()
        decision = engine.step(Snapshot(now, prices, holdings=holdings, open_orders=foreign, price_times=times,
                                        spendable=spendable, balances=balances))
        self._orders = {o.pair: o for o in decision.orders}
        # Freqtrade reads this attribute every loop before it calls adjust_trade_position (with its
        # per-call profit and stake computations) for every open trade: on only in loops where the
        # engine has an order to place (door leaves it on if an upgrade changed that).
        self.position_adjustment_enable = door.position_adjustment(bool(self._orders))
        self._report(decision, prices)
        if self._backtesting:
            if ts == self._last_ts:
                self._write_summary()
        else:
            self._persist(prices, now, decision.reason)

    def _ask_the_exchange(self, engine: Engine, now: float, op_started: float) -> set[str]:
        """Live: adopt fills the exchange made without the database knowing (a lost answer, a kill), so
        nothing is sent twice (smartpf.freqtrade.orphans). Returns the pairs it could not check."""
        if self.config.get("dry_run", True):
            return set()
        if not hasattr(self, "_orphans"):
            self._orphans = OrphanWatch(self)
        lines, blind = self._orphans.check(engine, now, op_started)
        for line in lines:
            logger.info("smartpf: %s", line)
        return blind

    def _trades_by_pair(self, engine: Engine) -> dict[str, list]:
        pairs = {o.pair for o in engine.pending_orders()}
        return {p: door.trades_of(p) for p in pairs}

    def _live_prices(self, pairs: tuple[str, ...]) -> tuple[dict[str, float], dict[str, float]]:
        prices: dict[str, float] = {}
        times: dict[str, float] = {}
        for pair in pairs:
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
                when = seen / 1000.0 if seen else self._closed_candle_time(pair)
                if when is not None:
                    times[pair] = when
        return prices, times

    def _closed_candle_time(self, pair: str) -> float | None:
        """When the latest closed candle of ``pair`` closed, from Freqtrade's data provider."""
        timeframe = self.config.get("timeframe", self.timeframe)
        try:
            df = self.dp.ohlcv(pair, timeframe)
        except Exception:  # noqa: BLE001 - no candles means no time
            return None
        if df is None or len(df) == 0:
            return None
        return df["date"].iloc[-1].timestamp() + timeframe_to_seconds(timeframe)

    # ------------------------------------------------------------------ per pair
    def populate_indicators(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        return dataframe

    def populate_entry_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        # Willing while the portfolio trades: whether a coin is really bought is the engine's decision
        # (custom_stake_amount). A terminated portfolio asks Freqtrade for no entry at all.
        engine = self.engine
        dataframe["enter_long"] = 0 if engine is None or engine.status == "terminated" else 1
        dataframe["enter_tag"] = entry_tag(engine.portfolio_id if engine else "")
        return dataframe

    def populate_exit_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe["exit_long"] = 0
        return dataframe

    def custom_stake_amount(self, pair: str, current_time: datetime, current_rate: float, proposed_stake: float,
                            min_stake: float | None, max_stake: float, leverage: float, entry_tag: str | None,
                            side: str, **kwargs: Any) -> float:
        if self._outside_portfolio(pair):
            return 0.0
        order = self._orders.get(pair)
        if order is None or order.side != "buy" or self.engine.order_status(order.id) != "planned":
            return 0.0
        return entry_stake(order.amount, current_rate)

    def confirm_trade_entry(self, pair: str, order_type: str, amount: float, rate: float, time_in_force: str,
                            current_time: datetime, entry_tag: str | None, side: str, **kwargs: Any) -> bool:
        if self._outside_portfolio(pair):
            return False
        order = self._orders.get(pair)
        if order is None or order.side != "buy" or self.engine.order_status(order.id) != "planned":
            return False
        self._sent(order)
        return True

    def _outside_portfolio(self, pair: str) -> bool:
        """After a rejected reload Freqtrade's whitelist is the edited one while the engine keeps the last
        good settings: the bot as a whole keeps to those, so no entry on a pair outside them."""
        if self.engine is not None and pair in self.engine.pairs:
            return False
        if f"outside {pair}" not in self._last_message:
            self._last_message[f"outside {pair}"] = 0.0
            logger.warning("smartpf: no entry on %s: it is not in the settings in force (%s); after a rejected "
                           "settings change the last good settings stay in force", pair,
                           ", ".join(self.engine.pairs) if self.engine else "none yet")
        return True

    def adjust_trade_position(self, trade: Trade, current_time: datetime, current_rate: float,
                              current_profit: float, min_stake: float | None, max_stake: float,
                              current_entry_rate: float, current_exit_rate: float, current_entry_profit: float,
                              current_exit_profit: float, **kwargs: Any) -> tuple[float, str] | None:
        # The trade is Freqtrade's own object (no defensive copy, see below): read it, never change it.
        if trade.has_open_orders:
            return None
        order = self._orders.get(trade.pair)
        if order is None or self.engine.order_status(order.id) != "planned":
            return None
        if order.side == "sell":
            stake = exit_stake(order.amount, trade.amount, trade.stake_amount, order.full)
        else:
            stake = entry_stake(order.amount, current_rate)
        self._sent(order)
        return stake, order.id

    def order_filled(self, pair: str, trade: Trade, order: Any, current_time: datetime, **kwargs: Any) -> None:
        engine = self.engine
        if engine is None:
            return
        for mine in engine.pending_orders():
            if mine.pair != pair or mine.side != order.ft_order_side:
                continue
            if order.ft_order_tag in (mine.id, entry_tag(engine.portfolio_id), order_entry_tag(mine)):
                # booked in memory; the portfolio is saved once per loop, and after a restart the
                # trade database (reconcile) brings back any fill the saved state missed
                engine.on_fill(fill_from(mine, order, trade, current_time.timestamp()))
                if self._backtesting and int(current_time.timestamp()) == self._last_ts:
                    self._write_summary()
                return
        key = f"foreign fill {order.order_id}"  # Freqtrade re-reads a known order every loop while a coin is short
        if key not in self._last_message:
            self._last_message[key] = current_time.timestamp()
            logger.info("smartpf: fill on %s (%s) is not one of the portfolio's orders", pair, order.ft_order_tag)

    # ------------------------------------------------------------------ reporting
    def _report(self, decision: Any, prices: dict[str, float]) -> None:
        for notice in decision.notices:
            self._tell(notice.message, always=True)
        reason = decision.reason
        if reason is None or self._backtesting:
            return
        if decision.checked and prices:
            details = self.engine.details(prices)
            weights = ", ".join(f"{c['pair'].split('/')[0]} {c['actual_pct']:.2f}/{c['target_pct']:g} %"
                                for c in details["coins"])
            hodl = details["hodl_profit_pct"]
            logger.info("smartpf: value %.2f %s, profit %+.2f %% (HODL %s), %s; %s",
                        details["value"], self.engine.spec.stake_currency, details["profit_pct"],
                        "n/a" if hodl is None else f"{hodl:+.2f} %", weights, reason.message)
        if reason.code not in QUIET_REASONS:
            now = decision.time
            if now - self._last_message.get(reason.code, -math.inf) >= SKIP_MESSAGE_EVERY:
                self._last_message[reason.code] = now
                self._tell(f"no rebalance: {reason.message}", always=True)
            else:
                logger.info("smartpf: no rebalance: %s", reason.message)

    def _tell(self, text: str, always: bool = False) -> None:
        if self._backtesting:
            logger.debug("smartpf: %s", text)
            return
        logger.info("smartpf: %s", text)
        self.dp.send_msg(f"smartpf: {text}", always_send=always)

    def _persist(self, prices: dict[str, float] | None = None, now: float | None = None,
                 reason: ev.Reason | None = None) -> None:
        """Save the portfolio into the trade database (only what changed) and the loop's view (prices, reason),
        then refresh the JSON export."""
        if self._backtesting or self.engine is None or self._store is None or self._row is None:
            return
        try:
            self._store.save(self._row, self.engine)
            if prices or reason is not None:
                why = None if reason is None else {"at": now, "code": reason.code, "message": reason.message,
                                                   "details": dict(reason.details)}
                self._store.save_view(self._row.id, prices, now, why)
        except SaveError as exc:
            # rolled back on smartpf's own session; the next loop saves again whatever this one could not
            self._io_problem("save", f"cannot save the portfolio to the trade database ({exc}); the bot keeps "
                                     "running and saves again every loop")
        else:
            self._io_solved("save", "the portfolio is saved to the trade database again")
        data: dict[str, Any] = {"portfolio_id": self._row.id, "bot_name": self._bot,
                                "engine": self.engine.to_dict(), "updated_at": datetime.now(UTC).isoformat(),
                                "note": "an export for other tools; the bot's memory is in its trade database"}
        reason = self.engine.last_reason
        data["reason"] = None if reason is None else {"code": reason.code, "message": reason.message}
        if prices and all(p in prices for p in self.engine.pairs):
            self._details = self.engine.details(prices)
        data["details"] = getattr(self, "_details", None)
        path = export_path(self.config["user_data_dir"], self._row.id)
        try:
            write_state(path, data)
        except OSError as exc:  # an export for other tools, never read back: a warning, never a stop
            self._io_problem("export", f"cannot write the export {path} ({exc.strerror or exc}); the bot keeps "
                                       "running (the portfolio itself is in the trade database)")
        else:
            self._io_solved("export", f"the export {path} is written again")

    def _io_problem(self, what: str, text: str) -> None:
        """Say a failing write once (again only after it recovered), never every loop."""
        if what not in self._io_failing:
            self._io_failing[what] = text
            logger.warning("smartpf: %s", text)

    def _io_solved(self, what: str, text: str) -> None:
        if self._io_failing.pop(what, None) is not None:
            logger.info("smartpf: %s", text)

    def _write_summary(self) -> None:
        self._candles.close(self.engine, self._last_ts)
        candles = len(set().union(*(s.keys() for s in self._closes.values())))
        path = write_summary(self.config, self.engine, self._candles.tracker, self._first_ts, self._last_ts, candles)
        logger.info("smartpf: portfolio summary written to %s", path)


def _refusal(memory: Memory, db_url: str) -> str:
    """Why the bot will not start, what differs, and the two commands that resolve it."""
    lines = [f"smartpf: the bot will not start: {memory.decision.message} ({db_url}):"]
    lines += [f"  {d}" for d in memory.decision.differences]
    lines += [f"  note: {n}" for n in memory.notes]
    lines += ["  To take the open trades as the portfolio (their amounts, targets from the config): "
              "smartpf adopt -c CONFIG [--db-url URL]",
              "  To archive the portfolio (its records stay readable) and start afresh on the next start: "
              "smartpf reset -c CONFIG [--db-url URL] (open trades must then be closed or deleted in Freqtrade)"]
    return "\n".join(lines)


def _dry_run_wallet_hint(config: dict, short: float) -> str:
    """In dry-run the account is Freqtrade's ``dry_run_wallet``: name it, its value and what would do."""
    wallet = config.get("dry_run_wallet")
    if not config.get("dry_run", True) or not isinstance(wallet, int | float):
        return ""
    return f"; in dry-run the account is dry_run_wallet = {wallet:g}: it needs at least {math.ceil(wallet + short):g}"


def _describe(spec: PortfolioSpec) -> str:
    assets = ", ".join(f"{c} {p:g} %" for c, p in spec.allocations)
    rule = spec.describe_threshold() if spec.mode == "proportional" else f"every {spec.to_dict()['interval']}"
    return f"{assets}; {spec.investment:g} {spec.stake_currency}; {spec.mode}, {rule}"


# Freqtrade deep-copies ``trade`` before every user callback that takes one (strategy_wrapper.py), which
# makes long rebalancing backtests quadratic in the number of orders. These two callbacks only read the
# trade, so they are presented as IStrategy's own, which skips the copy (see smartpf.freqtrade.door).
door.skip_trade_copy(SmartPortfolio, "adjust_trade_position", "order_filled")
