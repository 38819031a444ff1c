"""Freqtrade's internals, behind one door: everything smartpf relies on beyond the documented strategy API.

- the trade database (Freqtrade's SQLAlchemy session and its ``Trade`` objects; smartpf's own session beside it);
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
``tests/adapter/test_freqtrade_internals.py`` fails loudly on such an upgrade.
"""

from __future__ import annotations

import inspect
import logging
from datetime import UTC, datetime
from functools import cache
from importlib.metadata import version
from typing import Any

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


def all_order_tags() -> list[str]:
    return [o.ft_order_tag for t in trades_of() for o in t.orders]


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
