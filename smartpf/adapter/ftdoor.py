"""Freqtrade's internals, behind one door: everything smartpf relies on beyond the documented strategy API.

- the trade database (Freqtrade's SQLAlchemy session and its ``Trade`` objects);
- skipping Freqtrade's defensive deep copy of ``trade`` for callbacks that only read it;
- switching ``position_adjustment_enable`` per loop, so idle candles cost nothing;
- which bots already started in this process, so a config reload can be told from a fresh start.

Each mechanism is checked against the Freqtrade installed (the version it was written for, and the
source line it depends on). When an upgrade changes one, the door falls back to the slower but
correct path (keep the copy; leave position adjustment on) and says so once in the log.
``tests/adapter/test_freqtrade_internals.py`` fails loudly on such an upgrade.
"""

from __future__ import annotations

import inspect
import logging
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
