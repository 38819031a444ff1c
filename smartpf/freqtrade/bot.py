"""The portfolio's host inside Freqtrade: what ``strategies/SmartPortfolio.py`` delegates every callback to.

Freqtrade owns the exchange, the trade database and the loop (as ``FreqtradeBot`` owns them for any ``IStrategy``);
``PortfolioBot`` owns the portfolio: it starts it (resume, new, or refuse with one ``SmartpfStartError``), runs the
engine once per loop, answers the per-pair callbacks (the stake for a pair, an order placed, an order filled) and
saves what changed. Every rule is the core's (``smartpf_core``); the run mode is read once, at start, where it
picks the price source (``prices``) and the way the account is read (``account``).
"""

from __future__ import annotations

import logging
import math
import time
from typing import Any

from freqtrade.exceptions import OperationalException

from smartpf.errors import SmartpfError
from smartpf_core import Engine, Order, PortfolioSpec, Snapshot, check_config, investment_problems
from smartpf_core import events as ev
from smartpf_core.sizing import entry_stake, exit_stake
from smartpf_core.spec import settings_change_problem
from smartpf_core.startup import REFUSE, TERMINATED

from . import account, channels, door, dustfeed, history
from .client_ids import client_order_id
from .export import Export
from .markets import rules_from_ccxt_market
from .memory import Memory, open_amounts, recall
from .prices import CandleOracle, PriceSource, Ticker
from .reconcile import entry_tag, fill_from, order_entry_tag
from .statefile import StateFileError, legacy_path
from .store import PortfolioRow, PortfolioStore, SaveError, StoreError, new_portfolio_id

logger = logging.getLogger("SmartPortfolio")  # the strategy's log lines keep its name (users filter on it)

QUIET_REASONS = (ev.BELOW_THRESHOLD, ev.WAITING_FOR_CHECK, ev.NOT_SCHEDULED, ev.IN_PROGRESS, ev.BALANCED,
                 ev.TERMINATED, ev.DIVERGED)  # (diverged: its notice says it once)
SKIP_MESSAGE_EVERY = 3600.0  # seconds between two messages about the same kind of skipped rebalance
WONT_START = "smartpf: the bot will not start"


class SmartpfStartError(SmartpfError, OperationalException):
    """The bot refuses to start: one message naming what is wrong and what resolves it; Freqtrade exits 2."""


class _OneRefusalLine(logging.Filter):
    """Freqtrade's strategy wrapper logs a refusal's exception (its repr and a traceback) before Freqtrade logs
    its message and exits 2: drop that first, raw copy, so the refusal reads once."""

    def filter(self, record: logging.LogRecord) -> bool:
        return f"{SmartpfStartError.__name__}(" not in record.getMessage()


_REFUSAL_FILTER = _OneRefusalLine()
logging.getLogger("freqtrade.strategy.strategy_wrapper").addFilter(_REFUSAL_FILTER)


class PortfolioBot:
    """One portfolio run by one Freqtrade strategy. ``strategy`` gives the data provider, the wallets and the
    config; everything the bot remembers between callbacks is made here."""

    def __init__(self, strategy: Any, config: dict[str, Any]) -> None:
        self.strategy = strategy
        self.config = config
        self.name = str(config.get("bot_name") or "freqtrade")
        self.reload = door.was_started(self.name)  # a config reload rebuilds the strategy in the same process
        result = check_config(config)  # the one check, also behind `smartpf validate`
        for warning in result.warnings:
            logger.warning("smartpf: %s", warning)
        self.problems = [str(p) for p in result.errors]
        self.new_spec: PortfolioSpec | None = None if self.problems else result.spec
        self.pair_count = result.spec.slots if result.spec is not None else 0  # (held-out coins keep a slot)
        if self.problems and not self.reload:
            raise SmartpfStartError(f"{WONT_START}:\n  " + "\n  ".join(self.problems))
        self.engine: Engine | None = None
        self.store: PortfolioStore | None = None
        self._row: PortfolioRow | None = None
        self.export: Export | None = None
        self.prices: PriceSource | None = None  # chosen at start, with the account
        self.account: account.Backtest | account.DryRun | None = None
        self.backtesting = False
        self.talks = True  # dry-run and live tell the user; a backtest only logs at debug level
        self.orders: dict[str, Order] = {}  # this loop's orders of the engine, by pair
        self.details: dict[str, Any] | None = None  # the latest figures with every price known
        self.last_message: dict[str, float] = {}  # a kind of message -> when it was last said
        self.io_failing: dict[str, str] = {}  # a write that fails (save, export) -> what was said about it
        self.sending: dict[tuple[str, str], tuple[str, float]] = {}  # (pair, side) -> engine order id, when
        self.channels = channels.Channels(config)  # custom data, exit reasons, messages, chart (dry-run, live)

    @property
    def row(self) -> PortfolioRow | None:
        return self._row

    @row.setter
    def row(self, row: PortfolioRow | None) -> None:
        """The portfolio's database row, and with it its export beside the database."""
        self._row = row
        self.export = None if row is None else Export(self.config["user_data_dir"], row.id, self.name)

    @property
    def dp(self) -> Any:
        """Freqtrade's data provider (``channels`` reads it from its host)."""
        return self.strategy.dp

    @property
    def timeframe(self) -> str:
        return str(self.strategy.timeframe)

    @property
    def dry_run(self) -> bool:
        return bool(self.config.get("dry_run", True))

    # ------------------------------------------------------------------ start
    def start(self, backtesting: bool) -> None:
        """Resume this database's portfolio, begin a new one, or refuse (``SmartpfStartError``, exit 2)."""
        dp, spec, memory = self.strategy.dp, self.new_spec, None
        self.backtesting, self.talks = backtesting, not backtesting
        timeframe = self.config.get("timeframe", self.strategy.timeframe)
        if backtesting:
            self.prices = CandleOracle(dp, self.config, timeframe, spec.pairs if spec else ())
            self.account = account.Backtest()
        else:
            memory = self.recall()
            self.engine = memory.engine
            self.prices = Ticker(dp, timeframe, door.timeframe_seconds(timeframe))
            self.account = account.DryRun(self.strategy) if self.dry_run else account.Live(self.strategy)
        pairs = (spec or self.engine.spec).pairs
        markets = {p: dp.market(p) for p in pairs}
        rules = {p: rules_from_ccxt_market(m) for p, m in markets.items() if m}
        problems = list(self.problems)
        problems += [f"exchange.pair_whitelist: {p} is not a market on {self.config['exchange']['name']}"
                     for p, m in markets.items() if not m or not m.get("active", True)]
        terminated = memory is not None and memory.decision.action == TERMINATED
        if spec is not None and not terminated:
            problems += self.check_funding(spec, rules)
        if problems:
            if not (self.reload and self.engine):
                raise SmartpfStartError(f"{WONT_START}:\n  " + "\n  ".join(problems))
            self.rejected("smartpf: invalid settings change rejected, the last good settings stay in force:\n  "
                          + "\n  ".join(problems), problems)
        elif terminated:
            info = self.engine.termination or {}
            logger.warning("smartpf: portfolio %s is terminated (%s); it trades no more and asks Freqtrade for no "
                           "entries. `smartpf reset -c CONFIG` archives it; the next start then buys a new basket.",
                           self.row.id, info.get("why", "terminated"))
        elif self.engine is None:
            self.begin(spec, rules, memory)
        else:
            self.resume(spec, rules)
        if not backtesting and not self.dry_run:
            door.name_orders(door.exchange_of(dp), self.client_id_for)
        door.mark_started(self.name)
        self.persist()
        if self.store is not None and self.row is not None:
            self.store.mark_run(self.row.id, started=time.time())

    def begin(self, spec: PortfolioSpec, rules: dict, memory: Memory | None) -> None:
        # a backtest's portfolio has no id: its tags stay the plain ones (rb3:sell:ETH/USDT)
        self.engine = Engine(spec, rules, portfolio_id=new_portfolio_id() if self.store is not None else "")
        if self.store is None:
            logger.info("smartpf: new portfolio %s", describe(spec))
            return
        try:
            self.row = self.store.create(self.engine, self.name)
        except SaveError as exc:
            raise SmartpfStartError(f"{WONT_START}: the new portfolio cannot be saved to the trade database "
                                    f"({exc})") from exc
        logger.info("smartpf: %s; new portfolio %s: %s", memory.decision.message if memory else "new",
                    self.row.id, describe(spec))
        self.warn_unmanaged_coins(spec)

    def resume(self, spec: PortfolioSpec | None, rules: dict) -> None:
        engine = self.engine
        if not self.reload:
            self.check_history(engine)
        stale = settings_change_problem(engine.spec, spec)  # a stale file, an unasked withdrawal
        if stale:  # the exchange's current rules still apply; the settings in force stay
            engine.update_spec(engine.spec, rules)
        accepted, notices = (False, []) if stale else engine.update_spec(spec, rules)
        if not accepted:
            problems = [stale or n.message for n in notices or [None]]
            if not self.reload:
                raise SmartpfStartError(f"{WONT_START}:\n  " + "\n  ".join(problems))
            self.rejected("smartpf: settings change rejected, the settings in force stay:\n  "
                          + "\n  ".join(problems), problems)
            notices = []
        for notice in notices:
            self.tell(notice.message, always=True, send=self.channels.announces(notice))
        if not self.reload:  # once per start; a reload says only what changed (above)
            logger.info("smartpf: resumed portfolio %s from the trade database: %s", engine.portfolio_id,
                        describe(engine.spec))

    def recall(self) -> Memory:
        """Find this database's portfolio and decide: resume, new, terminated, or refuse."""
        self.store = PortfolioStore(door.own_session())  # a failed save never touches Freqtrade's session
        self.store.create_tables()
        legacy = legacy_path(self.config["user_data_dir"], self.name)
        try:
            memory = recall(self.store, open_amounts(door.open_trades()), door.all_order_tags(), legacy, self.name)
        except SaveError as exc:
            raise SmartpfStartError(f"{WONT_START}: the imported portfolio cannot be saved to the trade database "
                                    f"({exc})") from exc
        except (StoreError, StateFileError) as exc:
            raise SmartpfStartError(f"{WONT_START}: {exc}; move the file away (or run `smartpf reset -c CONFIG`) "
                                    "to let the bot decide without it") from exc
        for note in memory.notes:
            logger.warning("smartpf: %s", note)
        if memory.decision.action == REFUSE:
            raise SmartpfStartError(refusal(memory, self.config.get("db_url", "")))
        self.row = memory.row
        return memory

    def check_history(self, engine: Engine) -> None:
        """Operation ids never repeat and the exchange's history is the truth (``history``): a trade database
        behind it (a restored backup) refuses the start, naming the orders and the command."""
        exchange = None if self.dry_run else door.exchange_of(self.strategy.dp)
        try:
            lost, dropped = history.check(engine, self.config["user_data_dir"], exchange)
        except history.HistoryUnreadable as exc:
            raise SmartpfStartError(f"{WONT_START}: {exc}") from exc
        for order_id in dropped:
            logger.warning("smartpf: %s: a later operation of this portfolio followed it (the database was restored "
                           "from an older copy): not sent again", order_id)
        if lost:
            raise SmartpfStartError(history.refusal(engine, lost, self.config.get("db_url", "")))

    def check_funding(self, spec: PortfolioSpec, rules: dict) -> list[str]:
        problems = []
        prices = self.prices.start_prices(spec.pairs)
        if prices and all(p > 0 for p in prices.values()):
            for problem in investment_problems(spec, rules, prices)[1]:
                if problem.level == "error":
                    problems.append(str(problem))
                else:
                    logger.warning("smartpf: %s", problem)
        # the bot's own open positions count (at their stake), or every restart would refuse
        wallets = self.strategy.wallets
        fundable = wallets.get_total_stake_amount() if wallets else math.inf
        if spec.investment > fundable + 1e-6:
            problems.append(f"smart_portfolio.investment = {spec.investment:g}: more than the account can fund "
                            f"({fundable:.2f} {spec.stake_currency} including the bot's open positions)"
                            + dry_run_wallet_hint(self.config, spec.investment - fundable))
        return problems

    def warn_unmanaged_coins(self, spec: PortfolioSpec) -> None:
        """Live: coins of the basket already in the account are not the new portfolio's; say so."""
        wallets = self.strategy.wallets
        if self.dry_run or not wallets:
            return
        held = [f"{c} {wallets.get_total(c):g}" for c in spec.coins if wallets.get_total(c) > 0]
        if held:
            self.tell("the account already holds " + ", ".join(held) + ": the new portfolio does not count "
                      "them (it buys its own basket); use `smartpf adopt` only for the trades of a lost portfolio",
                      always=True)

    def rejected(self, text: str, problems: list[str]) -> None:
        """A reload the bot refused: logged, told, and saved with the change's generation, so that the command
        that asked for this change (``smartpf.cli.steering``) knows it is about its own change."""
        section = self.config.get("smart_portfolio")
        generation = section.get("generation") if isinstance(section, dict) else None
        if self.store is not None and self.row is not None:
            try:
                self.store.save_view(self.row.id, rejected={"at": time.time(), "problems": problems,
                                                            "generation": generation})
            except SaveError as exc:
                logger.warning("smartpf: cannot save the rejected change for `smartpf why` (%s)", exc)
        logger.error(text)
        self.strategy.dp.send_msg(text, always_send=True)

    def stopped(self) -> None:
        """Freqtrade's clean stop (and the old strategy's end at a reload): recorded, so that `smartpf reset`
        right after a clean stop is allowed (a kill records nothing)."""
        if self.store is not None and self.row is not None:
            try:
                self.store.mark_run(self.row.id, stopped=time.time())
            except Exception as exc:  # noqa: BLE001 - a stop must never fail on its bookkeeping
                logger.warning("smartpf: could not record the clean stop: %s", exc)

    # ------------------------------------------------------------------ each loop
    def loop(self, now: float) -> None:
        """Prices and holdings in, the engine's decision out: its orders wait for the per-pair callbacks."""
        engine = self.engine
        if engine is None:
            return
        quote = self.prices.quote(engine, now)
        if quote is None:
            return  # a backtest's first candles: Freqtrade fills an entry at the next candle's open
        held = self.account.read(engine, now)
        if held is None:
            self.orders = {}
            return
        decision = engine.step(Snapshot(now, quote.prices, holdings=held.holdings, open_orders=held.foreign,
                                        price_times=quote.times, spendable=held.spendable, balances=held.balances,
                                        dust=held.dust))
        if held.dust:  # live, a sell the engine folded dust into: the trade takes it in (dustfeed)
            for line in dustfeed.fold_into_trades(decision.orders, engine.holdings, held.trades):
                logger.info("smartpf: %s", line)
        self.orders = {o.pair: o for o in decision.orders}
        # Freqtrade reads this attribute every loop before it calls adjust_trade_position (with its per-call
        # profit and stake computations) for every open trade: on only in loops where the engine has an order
        # to place (the door leaves it on if an upgrade changed that).
        self.strategy.position_adjustment_enable = door.position_adjustment(bool(self.orders))
        self.report(decision, quote.prices)
        self.channels.loop(self, quote.prices, now)  # dry-run and live: custom data, the report, the chart
        self.prices.candle_done(engine, now)
        self.persist(quote.prices, now, decision.reason)

    # ------------------------------------------------------------------ per pair
    def wants_entries(self) -> bool:
        """Willing while the portfolio trades: whether a coin is really bought is the engine's decision
        (``stake_for``). A terminated portfolio asks Freqtrade for no entry at all."""
        return self.engine is not None and self.engine.status != "terminated"

    def entry_tag(self) -> str:
        return entry_tag(self.engine.portfolio_id if self.engine else "")

    def planned(self, pair: str, side: str | None = None) -> Order | None:
        """The engine's order on ``pair`` this loop that is still to be sent (of ``side``, if given)."""
        order = self.orders.get(pair)
        if order is None or (side and order.side != side) or self.engine.order_status(order.id) != "planned":
            return None
        return order

    def stake_for(self, pair: str, rate: float) -> float:
        order = None if self.outside_portfolio(pair) else self.planned(pair, "buy")
        return 0.0 if order is None else entry_stake(order.amount, rate)

    def entry_confirmed(self, pair: str) -> bool:
        order = None if self.outside_portfolio(pair) else self.planned(pair, "buy")
        if order is not None:
            self.placed(order)
        return order is not None

    def adjustment(self, trade: Any, rate: float) -> tuple[float, str] | None:
        """The stake of the engine's order on the trade's pair (negative: a sell), tagged with its id."""
        # The trade is Freqtrade's own object (no defensive copy, see door.skip_trade_copy): read, never changed.
        order = None if trade.has_open_orders else self.planned(trade.pair)
        if order is None:
            return None
        if order.side == "sell":
            stake = exit_stake(order.amount, trade.amount, trade.stake_amount, order.full)
        else:
            stake = entry_stake(order.amount, rate)
        self.placed(order)
        return stake, order.id

    def outside_portfolio(self, pair: str) -> bool:
        """After a rejected reload Freqtrade's whitelist is the edited one while the engine keeps the last
        good settings: the bot as a whole keeps to those, so no entry on a pair outside them."""
        if self.engine is not None and pair in self.engine.pairs:
            return False
        if f"outside {pair}" not in self.last_message:
            self.last_message[f"outside {pair}"] = 0.0
            logger.warning("smartpf: no entry on %s: it is not in the settings in force (%s); after a rejected "
                           "settings change the last good settings stay in force", pair,
                           ", ".join(self.engine.pairs) if self.engine else "none yet")
        return True

    def placed(self, order: Order) -> None:
        """The engine's order is handed to Freqtrade now: its client order id goes with it."""
        self.engine.order_placed(order.id)
        self.sending[(order.pair, order.side)] = (order.id, time.monotonic())

    def client_id_for(self, pair: str, side: str) -> str | None:
        """The client order id of the engine order Freqtrade is sending now on ``pair`` (door.name_orders)."""
        sending = self.sending.pop((pair, side), None)
        if sending is None or time.monotonic() - sending[1] > 60.0:
            return None
        return client_order_id(sending[0])

    def filled(self, pair: str, trade: Any, order: Any, when: float) -> None:
        """Freqtrade's fill of one of the engine's orders, booked in memory; the portfolio is saved once per
        loop, and after a restart the trade database (reconcile) brings back any fill the saved state missed."""
        engine = self.engine
        if engine is None:
            return
        for mine in engine.pending_orders():
            if mine.pair != pair or mine.side != order.ft_order_side:
                continue
            if order.ft_order_tag in (mine.id, entry_tag(engine.portfolio_id), order_entry_tag(mine)):
                base = float(order.ft_fee_base or 0.0) if mine.side == "buy" else 0.0
                if (self.account.fee_base() is not None and mine.side == "buy" and base <= 0
                        and trade.fee_open_currency != engine.spec.stake_currency):
                    # live, a buy whose fee Freqtrade has not booked in the stake currency (a later buy: it
                    # books that fee on its next loop): the next loop's reconcile books this fill, with
                    # the fee in the coin read from the exchange (no exchange call inside Freqtrade's update)
                    return
                channels.name_exit(engine, trade, order)  # the exit reason becomes its stable kind; the tag stays
                engine.on_fill(fill_from(mine, order, trade, when, base))
                self.prices.candle_done(engine, when)
                return
        key = f"foreign fill {order.order_id}"  # Freqtrade re-reads a known order every loop while a coin is short
        if key not in self.last_message:
            self.last_message[key] = when
            logger.info("smartpf: fill on %s (%s) is not one of the portfolio's orders", pair, order.ft_order_tag)

    # ------------------------------------------------------------------ reporting, saving
    def report(self, decision: Any, prices: dict[str, float]) -> None:
        for notice in decision.notices:
            self.tell(notice.message, always=True, send=self.channels.announces(notice))
        reason = decision.reason
        if reason is None or not self.talks:
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
            if now - self.last_message.get(reason.code, -math.inf) >= SKIP_MESSAGE_EVERY:
                self.last_message[reason.code] = now
                self.tell(f"no rebalance: {reason.message}", always=True, send=self.channels.announces(reason))
            else:
                logger.info("smartpf: no rebalance: %s", reason.message)

    def tell(self, text: str, always: bool = False, send: bool = True) -> None:
        if not self.talks:
            logger.debug("smartpf: %s", text)
            return
        logger.info("smartpf: %s", text)
        if send:  # smart_portfolio.messages (smartpf_core.channels)
            self.strategy.dp.send_msg(f"smartpf: {text}", always_send=always)

    def persist(self, prices: dict[str, float] | None = None, now: float | None = None,
                reason: ev.Reason | None = None) -> None:
        """Save the portfolio into the trade database (only what changed) and the loop's view (prices, reason),
        then the export (only if the state changed). A backtest has no database row: nothing to save."""
        engine, store, row = self.engine, self.store, self.row
        if engine is None or store is None or row is None:
            return
        try:
            store.save(row, engine)
            if prices or reason is not None:
                why = None if reason is None else {"at": now, "code": reason.code, "message": reason.message,
                                                   "details": dict(reason.details)}
                store.save_view(row.id, prices, now, why)
        except SaveError as exc:
            # rolled back on smartpf's own session; the next loop saves again whatever this one could not
            self.io_problem("save", f"cannot save the portfolio to the trade database ({exc}); the bot keeps "
                                    "running and saves again every loop")
        else:
            self.io_solved("save", "the portfolio is saved to the trade database again")
        if prices and all(p in prices for p in engine.pairs):
            self.details = engine.details(prices)
        export = self.export
        try:
            export.write(engine, engine.last_reason, self.details)
        except OSError as exc:  # an export for other tools, never read back: a warning, never a stop
            self.io_problem("export", f"cannot write the export {export.path} ({exc.strerror or exc}); the bot "
                                      "keeps running (the portfolio itself is in the trade database)")
        else:
            self.io_solved("export", f"the export {export.path} is written again")

    def io_problem(self, what: str, text: str) -> None:
        """Say a failing write once (again only after it recovered), never every loop."""
        if what not in self.io_failing:
            self.io_failing[what] = text
            logger.warning("smartpf: %s", text)

    def io_solved(self, what: str, text: str) -> None:
        if self.io_failing.pop(what, None) is not None:
            logger.info("smartpf: %s", text)


def refusal(memory: Memory, db_url: str) -> str:
    """Why the bot will not start, what differs, and the two commands that resolve it."""
    lines = [f"{WONT_START}: {memory.decision.message} ({db_url}):"]
    lines += [f"  {d}" for d in memory.decision.differences]
    lines += [f"  note: {n}" for n in memory.notes]
    lines += ["  To take the open trades as the portfolio (their amounts, targets from the config): "
              "smartpf adopt -c CONFIG [--db-url URL]",
              "  To archive the portfolio (its records stay readable) and start afresh on the next start: "
              "smartpf reset -c CONFIG [--db-url URL] (open trades must then be closed or deleted in Freqtrade)"]
    return "\n".join(lines)


def dry_run_wallet_hint(config: dict, short: float) -> str:
    """In dry-run the account is Freqtrade's ``dry_run_wallet``: name it, its value and what would do."""
    wallet = config.get("dry_run_wallet")
    if not config.get("dry_run", True) or not isinstance(wallet, int | float):
        return ""
    return f"; in dry-run the account is dry_run_wallet = {wallet:g}: it needs at least {math.ceil(wallet + short):g}"


def describe(spec: PortfolioSpec) -> str:
    assets = ", ".join(f"{c} {p:g} %" for c, p in spec.allocations)
    rule = spec.describe_threshold() if spec.mode == "proportional" else f"every {spec.to_dict()['interval']}"
    return f"{assets}; {spec.investment:g} {spec.stake_currency}; {spec.mode}, {rule}"
