"""What the portfolio holds this loop, read the way the run mode allows, chosen once at start.

- ``Backtest``: Freqtrade's simulated trades are the account; there is nothing to reconcile.
- ``DryRun``: the trade database is the truth: fills a restart or a crash missed are booked from it first
  (``reconcile``); the stake Freqtrade's wallet can spend bounds the buys.
- ``Live``: as dry-run, and first the exchange is asked what it filled without the database knowing
  (``orphans``), and the account's balance is read afresh (money moved outside the bot).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from smartpf_core import Engine

from . import door, dustfeed
from .orphans import OrphanWatch
from .reconcile import reconcile

logger = logging.getLogger("SmartPortfolio")  # the strategy's log lines keep its name (users filter on it)


@dataclass(frozen=True)
class Held:
    """The snapshot's account part: the open trades' amounts, the pairs another order occupies, the stake the
    wallet can spend (None: no limit) and the account's coins (None: not read)."""

    holdings: dict[str, float]
    foreign: frozenset[str]
    spendable: float | None = None
    balances: dict[str, float] | None = None
    dust: dict[str, float] | None = None  # live: the coins fees in the coin left outside the trades
    trades: tuple[Any, ...] = ()  # the open trades read for this (one query a loop, shared with the host)


def from_trades(engine: Engine, trades: list[Any], blind: set[str] | frozenset[str] = frozenset()) -> Held:
    """Holdings from the open trades; a pair with an open order that is not the engine's is occupied."""
    ours = {o.id for o in engine.pending_orders()}
    foreign = frozenset(t.pair for t in trades if t.has_open_orders and not any(
        o.ft_order_tag in ours for o in t.orders if o.ft_is_open)) | blind
    return Held({t.pair: float(t.amount) for t in trades}, foreign, trades=tuple(trades))


class Backtest:
    def read(self, engine: Engine, now: float) -> Held | None:
        return from_trades(engine, door.open_trades())

    def fee_base(self) -> Callable[[Any, str], float] | None:
        return None  # Freqtrade's backtesting charges every fee in the stake currency


class DryRun:
    def __init__(self, strategy: Any) -> None:
        self.strategy = strategy  # Freqtrade's: its wallets, its data provider

    def read(self, engine: Engine, now: float) -> Held | None:
        op_started = engine.operation_started_at() or 0.0
        blind = self.ask_the_exchange(engine, now, op_started)
        pending = {o.pair for o in engine.pending_orders()}
        for line in reconcile(engine, {p: door.trades_of(p) for p in pending}, now, op_started, self.fee_base()):
            logger.info("smartpf: %s", line)
        held = from_trades(engine, door.open_trades(), blind)  # after reconcile: an adopted fill may open a trade
        return replace(held, spendable=self.strategy.wallets.get_available_stake_amount())

    def ask_the_exchange(self, engine: Engine, now: float, op_started: float) -> set[str]:
        return set()  # dry-run orders never reach an exchange

    def fee_base(self) -> Callable[[Any, str], float] | None:
        """How to learn a buy's fee paid in the coin bought: None in dry-run, where every fee is in the stake."""
        return None


class Live(DryRun):
    def __init__(self, strategy: Any) -> None:
        super().__init__(strategy)
        self.orphans = OrphanWatch(strategy)

    def ask_the_exchange(self, engine: Engine, now: float, op_started: float) -> set[str]:
        """Adopt fills the exchange made without the database knowing (a lost answer, a kill), so nothing is
        sent twice (``orphans``). Returns the pairs it could not check."""
        lines, blind = self.orphans.check(engine, now, op_started)
        for line in lines:
            logger.info("smartpf: %s", line)
        return blind

    def read(self, engine: Engine, now: float) -> Held | None:
        held = super().read(engine, now)
        wallets = self.strategy.wallets
        # Freqtrade refreshes its wallet only after its own orders: re-read the exchange's balance, or money
        # moved outside the bot (a withdrawal) would buy with cash that is not there.
        try:
            wallets.update()
        except Exception as exc:  # noqa: BLE001 - an unreachable exchange: decide nothing blind
            logger.warning("smartpf: cannot read the account's balance (%s): no order this loop", exc)
            return None
        # the account's coins, so that coins gone from it (moved outside the bot) stop trading (the core decides)
        balances = {p: float(wallets.get_total(p.split("/")[0])) for p in engine.pairs}
        if held is None:
            return None
        # the coins fees in the coin left outside the trades count as the portfolio's (smartpf_core.dust)
        dust = dustfeed.measure(held.trades, wallets.get_total)
        return replace(held, spendable=wallets.get_available_stake_amount(), balances=balances, dust=dust)

    def fee_base(self) -> Callable[[Any, str], float] | None:
        """Live (money moving): a buy's fee paid in the coin bought, asked of the exchange when Freqtrade has
        not booked one."""
        return lambda ft_order, pair: dustfeed.fee_in_coin(door.exchange_of(self.strategy.dp), ft_order, pair,
                                                         door.fee_in_base)
