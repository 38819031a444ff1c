"""Freqtrade's internals, behind one door: everything smartpf relies on beyond the documented strategy API.

- the trade database (Freqtrade's SQLAlchemy session and its ``Trade`` objects; smartpf's own session beside it),
  and for the ``smartpf`` commands, opening one by URL: read-only for the commands that only read, through
  Freqtrade's ``init_db`` (its migrations) for the ones that write; one line (``DatabaseError``, exit 2) for a
  database that is missing, corrupt, locked, unreachable or whose driver is not installed, never with its password;
- skipping Freqtrade's defensive deep copy of ``trade`` for callbacks that only read it;
- switching ``position_adjustment_enable`` per loop, so idle candles cost nothing;
- which bots already started in this process, so a config reload can be told from a fresh start;
- the client order id of every order the bot sends (``client_ids``), set on ccxt's ``create_order`` call;
- Freqtrade's ``ft_bot_cleanup`` at a clean stop (and at a reload), where the strategy records the clean stop
  (``tests/test_steering_safety.py`` checks that Freqtrade still calls it; without it ``smartpf reset`` falls
  back to its 2-minute rule);
- the exchange's own record of a pair's orders, and adopting an order that filled on the exchange but
  never reached the trade database (a lost answer, a kill between the fill and the write) into the
  trade it belongs to, the way Freqtrade's own ``handle_onexchange_order`` does.

Each mechanism is checked against the Freqtrade installed (the version it was written for, and the
source line it depends on). When an upgrade changes one, the door falls back to the slower but
correct path (keep the copy; leave position adjustment on) and says so once in the log.
``tests/unit/test_freqtrade_internals.py`` fails loudly on such an upgrade.
"""

from __future__ import annotations

import inspect
import logging
import sqlite3
from datetime import UTC, datetime
from functools import cache
from importlib.metadata import version
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from smartpf.errors import SmartpfError

logger = logging.getLogger(__name__)

CHECKED_VERSION = "2026.9"
# Process-wide (this module stays in sys.modules across reloads, unlike the strategy file).
_STARTED: set[str] = set()


# ------------------------------------------------------------------ the version
@cache
def freqtrade_version() -> str:
    return version("freqtrade")


def is_checked_version() -> bool:
    return freqtrade_version() == CHECKED_VERSION


# ------------------------------------------------------------------ reload or fresh start
def was_started(bot_name: str) -> bool:
    """True when this process already started this bot: the strategy is being rebuilt by a reload."""
    return bot_name in _STARTED


def mark_started(bot_name: str) -> None:
    _STARTED.add(bot_name)


# ------------------------------------------------------------------ the trade database
def trade_session() -> Any:
    """Freqtrade's scoped SQLAlchemy session (open once Freqtrade called init_db, before bot_start)."""
    from freqtrade.persistence import Trade

    return Trade.session


def own_session() -> Any:
    """A session of smartpf's own on Freqtrade's database (its engine, a connection of its own): smartpf's
    commits and rollbacks never touch Freqtrade's session, so a failed save (disk full) cannot leave it
    unusable. Freqtrade keeps its custom data in a second session the same way."""
    from sqlalchemy.orm import Session

    return Session(bind=trade_session().get_bind(), autoflush=False)


def open_trades() -> list[Any]:
    from freqtrade.persistence import Trade

    return Trade.get_trades_proxy(is_open=True)


def trades_of(pair: str | None = None) -> list[Any]:
    """Every trade (open and closed), of one pair or all."""
    from freqtrade.persistence import Trade

    return Trade.get_trades_proxy(pair=pair) if pair else Trade.get_trades_proxy()


def timeframe_seconds(timeframe: str) -> int:
    from freqtrade.exchange import timeframe_to_seconds

    return int(timeframe_to_seconds(timeframe))


def all_order_tags() -> list[str]:
    return [o.ft_order_tag for t in trades_of() for o in t.orders]


# ------------------------------------------------------------------ a trade database for the commands
POSTGRES_EXTRA = "pip install 'smartpf[postgres]'"


class DatabaseError(SmartpfError):
    """The trade database cannot be used; the message names it (without a password) and why."""


def shown(url: str) -> str:
    """``url`` with any password replaced by ``***``: safe to print."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<an unreadable URL>"
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:***@{host}"))


def reason(exc: BaseException) -> str:
    """The driver's own first line (no SQL statement, no parameters)."""
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).strip().splitlines()
    return text[0] if text else type(orig).__name__


def _driver_missing(url: str, exc: BaseException) -> DatabaseError:
    return DatabaseError(f"--db-url {shown(url)}: the PostgreSQL driver is not installed ({exc}); install the "
                         f"optional extra: {POSTGRES_EXTRA}")


def _sqlite_path(url: str) -> Path | None:
    if url.startswith("sqlite:///") and url != "sqlite:///":
        return Path(url[len("sqlite:///"):].split("?", 1)[0])
    return None


def _check_exists(url: str) -> None:
    path = _sqlite_path(url)
    if path is not None and not path.exists():
        raise DatabaseError(f"--db-url {shown(url)}: no trade database there (relative paths are taken from "
                            f"{Path.cwd()}); pass the bot's --db-url")
    if path is not None:
        try:
            with path.open("rb") as handle:
                head = handle.read(16)
        except OSError as exc:
            raise DatabaseError(f"--db-url {shown(url)}: cannot be read ({exc.strerror or exc})") from exc
        if head and head != b"SQLite format 3\x00":
            raise DatabaseError(f"--db-url {shown(url)}: not an SQLite database (corrupt, or another file)")


def _engine_read_only(url: str) -> Any:
    """A SQLAlchemy engine that cannot write: SQLite opened with ``mode=ro``, PostgreSQL in read-only
    transactions. Freqtrade's tables are read as they are (no migration)."""
    from sqlalchemy import create_engine

    _check_exists(url)
    path = _sqlite_path(url)
    try:
        if path is not None:
            target = quote(str(path.resolve()))
            return create_engine(f"sqlite:///file:{target}?mode=ro&uri=true", connect_args={"timeout": 5})
        if url.startswith(("postgresql", "postgres")):
            return create_engine(url, connect_args={"options": "-c default_transaction_read_only=on"})
        return create_engine(url)
    except ImportError as exc:
        raise _driver_missing(url, exc) from exc
    except Exception as exc:  # noqa: BLE001 - a URL SQLAlchemy cannot use: one line
        raise DatabaseError(f"--db-url {shown(url)}: {reason(exc)}") from exc


def _bind_freqtrade(engine: Any) -> None:
    """Point Freqtrade's models at ``engine`` without its ``init_db`` (which creates and migrates tables)."""
    from freqtrade.persistence import Order, Trade
    from freqtrade.persistence.pairlock import PairLock
    from sqlalchemy.orm import scoped_session, sessionmaker

    Trade.session = scoped_session(sessionmaker(bind=engine, autoflush=False))
    Order.session = Trade.session
    PairLock.session = Trade.session


def _init_read_write(url: str) -> None:
    """Freqtrade's own ``init_db`` (creates and migrates its tables), as the bot does at start."""
    from freqtrade.exceptions import OperationalException
    from freqtrade.persistence import init_db

    _check_exists(url)
    try:
        init_db(url)
    except ImportError as exc:
        raise _driver_missing(url, exc) from exc
    except OperationalException as exc:
        raise DatabaseError(f"--db-url {shown(url)}: {str(exc).splitlines()[0]}") from exc
    except (sqlite3.Error, Exception) as exc:  # noqa: BLE001 - corrupt, locked, unreachable: one line
        raise DatabaseError(f"--db-url {shown(url)}: {reason(exc)}") from exc


def open_store(url: str, read_only: bool = False) -> Any:
    """The portfolio store (``store.PortfolioStore``) of the trade database at ``url``, with Freqtrade's models
    bound to it. ``read_only``: nothing can be written (no migration, no table created); else opened as the bot
    opens it (Freqtrade's ``init_db``), with smartpf's tables created. Raises ``DatabaseError`` (one line)."""
    from sqlalchemy.orm import Session

    from .store import PortfolioStore

    if read_only:
        engine = _engine_read_only(url)
        _bind_freqtrade(engine)
        return PortfolioStore(Session(engine), read_only=True)
    _init_read_write(url)
    store = PortfolioStore(trade_session())
    store.create_tables()
    return store


# ------------------------------------------------------------------ speed mechanisms
@cache
def copy_skipped_for_istrategy() -> bool:
    """Does Freqtrade still skip its deep copy of ``trade`` for callbacks named ``IStrategy.*``?"""
    from freqtrade.strategy.strategy_wrapper import strategy_safe_wrapper

    source = inspect.getsource(strategy_safe_wrapper)
    ok = is_checked_version() and 'startswith("IStrategy.")' in source and "deepcopy" in source
    if not ok:
        logger.warning("smartpf: Freqtrade %s copies trades differently from %s: SmartPortfolio keeps Freqtrade's "
                       "copy of each trade (correct, slower in long backtests)", freqtrade_version(), CHECKED_VERSION)
    return ok


def skip_trade_copy(cls: type, *names: str) -> None:
    """Present read-only callbacks as IStrategy's own, so Freqtrade does not deep-copy ``trade`` per call."""
    if not copy_skipped_for_istrategy():
        return
    for name in names:
        getattr(cls, name).__qualname__ = f"IStrategy.{name}"


@cache
def adjustment_flag_read_each_loop() -> bool:
    """Do both of Freqtrade's loops read ``strategy.position_adjustment_enable`` afresh every time?"""
    from freqtrade.freqtradebot import FreqtradeBot
    from freqtrade.optimize.backtesting import Backtesting

    line = "if self.strategy.position_adjustment_enable:"
    ok = (is_checked_version() and line in inspect.getsource(FreqtradeBot.process)
          and line in inspect.getsource(Backtesting._check_trade_exit))
    if not ok:
        logger.warning("smartpf: Freqtrade %s reads position_adjustment_enable differently from %s: SmartPortfolio "
                       "leaves it on (correct, slower)", freqtrade_version(), CHECKED_VERSION)
    return ok


def position_adjustment(wanted: bool) -> bool:
    """The value to give ``position_adjustment_enable`` this loop: ``wanted`` if switching is safe, else on."""
    return wanted if adjustment_flag_read_each_loop() else True


# ------------------------------------------------------------------ the exchange's record, orphan adoption
def exchange_of(dp: Any) -> Any:
    """Freqtrade's exchange object behind the strategy's DataProvider."""
    return dp._exchange


@cache
def can_name_orders() -> bool:
    """Does Freqtrade still pass its order parameters to ccxt's ``create_order`` as written for?"""
    from freqtrade.exchange import Exchange

    ok = is_checked_version() and "self._api.create_order(" in inspect.getsource(Exchange.create_order)
    if not ok:
        logger.warning("smartpf: Freqtrade %s places orders differently from %s: the bot's orders go without its "
                       "client order ids (the start check cannot tell them on the exchange)", freqtrade_version(),
                       CHECKED_VERSION)
    return ok


def name_orders(exchange: Any, client_id_for: Any) -> bool:
    """Give every order Freqtrade sends through ``exchange`` the client order id ``client_id_for(pair, side)``
    returns (nothing when it returns None), by wrapping the ccxt object's ``create_order``. Once per object."""
    api = getattr(exchange, "_api", None)
    if api is None or not can_name_orders():
        return False
    original = getattr(api.create_order, "_smartpf_original", api.create_order)

    def create_order(symbol: str, type: str, side: str, amount: float, price: float | None = None,  # noqa: A002
                     params: dict | None = None) -> Any:
        client_id = client_id_for(symbol, side)
        params = dict(params or {})
        if client_id and "clientOrderId" not in params:
            params["clientOrderId"] = client_id
        return original(symbol, type, side, amount, price, params)

    create_order._smartpf_original = original  # type: ignore[attr-defined]
    api.create_order = create_order
    return True


def orders_on_exchange(exchange: Any, pair: str, since: datetime) -> list[dict]:
    """The pair's orders as the exchange reports them (ccxt order dicts), placed at or after ``since``."""
    return list(exchange.fetch_orders(pair, since))


def fee_in_base(exchange: Any, order: dict, pair: str, since: datetime) -> float:
    """The fee an order paid in the coin it bought (Binance without BNB), from its trades."""
    base = pair.split("/")[0]
    trades = exchange.get_trades_for_order(str(order["id"]), pair, since)
    return sum(float((t.get("fee") or {}).get("cost") or 0.0) for t in trades
               if (t.get("fee") or {}).get("currency") == base)


@cache
def can_adopt() -> bool:
    """Does Freqtrade still build orders from ccxt objects and book them into trades as written for?"""
    from freqtrade.persistence import Order, Trade

    ok = (is_checked_version() and hasattr(Order, "parse_from_ccxt_object") and hasattr(Trade, "update_trade")
          and "ft_fee_base" in Order.__table__.columns)
    if not ok:
        logger.warning("smartpf: Freqtrade %s books orders differently from %s: an order found on the exchange "
                       "but not in the trade database is reported, not adopted", freqtrade_version(), CHECKED_VERSION)
    return ok


def adopt_order(trade: Any, order: dict, tag: str, fee_base: float) -> Any:
    """Book an exchange order into ``trade`` (amount net of ``fee_base``, the engine's ``tag``) and commit."""
    from freqtrade.persistence import Order, Trade

    side = order["side"]
    row = Order.parse_from_ccxt_object(order, trade.pair, side)
    row.ft_order_tag = tag
    row.ft_fee_base = fee_base or None
    trade.orders.append(row)
    trade.update_trade(row)
    if side == trade.exit_side and trade.amount <= 0:
        trade.close(row.safe_price)
    Trade.session.add(trade)
    Trade.commit()
    return row


def open_trade_for(strategy: Any, order: dict, tag: str, fee_base: float) -> Any:
    """A new open trade for an entry that filled on the exchange without reaching the database, built the
    way Freqtrade's ``execute_entry`` builds one, then the order adopted into it."""
    from freqtrade.exchange import timeframe_to_minutes
    from freqtrade.persistence import Trade

    exchange = exchange_of(strategy.dp)
    config = strategy.config
    pair = order["symbol"]
    rate = float(order.get("average") or order.get("price") or 0.0)
    fee = exchange.get_fee(symbol=pair, taker_or_maker="taker")
    trade = Trade(pair=pair, base_currency=pair.split("/")[0], stake_currency=config["stake_currency"],
                  stake_amount=float(order.get("cost") or 0.0), amount=0, is_open=True,
                  amount_requested=float(order.get("amount") or 0.0), fee_open=fee, fee_close=fee,
                  open_rate=rate, open_rate_requested=rate,
                  open_date=datetime.fromtimestamp((order.get("timestamp") or 0) / 1000, UTC),
                  exchange=exchange.id, strategy=strategy.get_strategy_name(), enter_tag=tag,
                  timeframe=timeframe_to_minutes(config["timeframe"]), leverage=1.0, is_short=False,
                  trading_mode=exchange.trading_mode, funding_fees=0.0,
                  amount_precision=exchange.get_precision_amount(pair),
                  price_precision=exchange.get_precision_price(pair), precision_mode=exchange.precisionMode,
                  precision_mode_price=exchange.precision_mode_price, contract_size=exchange.get_contract_size(pair))
    trade.adjust_stop_loss(trade.open_rate, strategy.stoploss, initial=True)
    return adopt_order(trade, order, tag, fee_base)
