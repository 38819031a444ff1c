"""What goes into the engine (snapshots, fills) and what comes out (orders, reasons, notices).

All plain, frozen values: the engine is fed these and returns these, and does no I/O of its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Snapshot:
    """The world as the host sees it at ``time`` (epoch seconds, UTC)."""

    time: float
    prices: Mapping[str, float]
    # The host's record of what the bot holds (e.g. Freqtrade's trade.amount); None = the engine's ledger.
    holdings: Mapping[str, float] | None = None
    # Pairs with an order open that the engine did not ask for (or has not been told about).
    open_orders: frozenset[str] = frozenset()
    # Pairs whose price the host knows to be stale (e.g. the exchange is not answering).
    stale: frozenset[str] = frozenset()
    # When each price was observed; a price older than twice check_interval is stale.
    price_times: Mapping[str, float] | None = None
    # The host's free stake balance, if it may be lower than the bot's own cash.
    spendable: float | None = None
    # Live: the account's amount (free and locked) of each pair's coin; a coin short of the portfolio's
    # holding stops trading (smartpf_core.account). None = not checked (dry-run, backtest).
    balances: Mapping[str, float] | None = None
    # Per pair, the coins fees taken in the coin left on the exchange outside the host's trades
    # (smartpf_core.dust); None = unchanged since the last snapshot.
    dust: Mapping[str, float] | None = None


@dataclass(frozen=True)
class Order:
    """An order the host must place. ``id`` is its identity across restarts (use it as the order tag)."""

    id: str
    op_id: str
    pair: str
    side: str  # "buy" or "sell"
    amount: float  # base quantity, already rounded down to the pair's step
    price: float  # the price the plan was made at (a market order fills near it)
    full: bool = False  # sell the whole position

    @property
    def value(self) -> float:
        return self.amount * self.price


@dataclass(frozen=True)
class Fill:
    """What really happened to an order; the host reports it once the order is closed."""

    order_id: str
    amount: float
    price: float
    fee: float  # in the stake currency
    time: float


@dataclass(frozen=True)
class Reason:
    """Why no (new) rebalance happened at this tick, in words and as structured details."""

    code: str
    message: str
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Notice:
    """Something worth telling the user about (a rebalance started or finished, termination, ...)."""

    kind: str
    message: str
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Decision:
    time: float
    orders: tuple[Order, ...] = ()
    reason: Reason | None = None
    notices: tuple[Notice, ...] = ()
    # A rebalance check ran at this tick (the threshold or the schedule was evaluated), whatever it
    # decided: hosts log the portfolio's figures then, not at every tick.
    checked: bool = False


# Reason codes, so hosts and tests need not match on words.
BELOW_THRESHOLD = "below_threshold"
NOT_SCHEDULED = "not_scheduled"
WAITING_FOR_CHECK = "waiting_for_check"
ORDERS_TOO_SMALL = "orders_too_small"
BALANCED = "balanced"
ORDER_OPEN = "order_open"
IN_PROGRESS = "rebalance_in_progress"
TERMINATED = "terminated"
STALE_PRICE = "stale_price"
MISSING_PRICE = "missing_price"
PRICE_UNCONFIRMED = "price_unconfirmed"
DIVERGED = "diverged"  # the account holds less of a coin than the portfolio: no trading until reconciled
