"""The portfolio's books: what it holds, its idle cash, its principal and withdrawals, the HODL shadow, counters.

Only ``book`` changes holdings and cash for a trade; the value and the profit rate are read from here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from ..allocation import portfolio_value
from ..dust import with_dust
from ..events import Fill, Order
from ..records import Hodl, TradeRecord


@dataclass(frozen=True)
class Metrics:
    orders: int
    fees: float
    turnover: float
    rebalances: int


@dataclass
class Ledger:
    cash: float
    invested: float  # net principal the ledger has accounted for
    holdings: dict[str, float] = field(default_factory=dict)
    pending_withdrawal: float = 0.0
    withdrawn: float = 0.0
    withdrawal_asked: float = 0.0  # the withdrawal under way, as asked (the HODL follows what was really taken)
    withdrawal_kept: float = 0.0  # asked to withdraw but could not be: it stays in the principal
    deposited: float = 0.0  # recurring deposits taken in: principal the settings' investment does not count
    hodl: Hodl = field(default_factory=Hodl)
    orders_filled: int = 0
    fees_paid: float = 0.0
    turnover: float = 0.0
    rebalances: int = 0
    dust: dict[str, float] = field(default_factory=dict)  # per pair: coins outside the host's trades (..dust)

    def book(self, order: Order, fill: Fill, initial: bool) -> TradeRecord:
        """A fill into holdings and cash (and into the HODL shadow while it buys the initial basket)."""
        notional = fill.amount * fill.price
        held = self.holdings.get(order.pair, 0.0)
        if order.side == "buy":
            self.holdings[order.pair] = held + fill.amount
            self.cash -= notional + fill.fee
        else:
            remaining = held - fill.amount
            self.holdings[order.pair] = 0.0 if order.full or remaining <= held * 1e-9 else remaining
            self.cash += notional - fill.fee
        if initial:
            self.hodl.holdings[order.pair] = self.hodl.holdings.get(order.pair, 0.0) + fill.amount
            self.hodl.cash -= notional + fill.fee
        self.orders_filled += 1
        self.fees_paid += fill.fee
        self.turnover += notional
        return TradeRecord(fill.time, order.pair, order.side, fill.amount, fill.price, fill.fee, order.id)

    def take_withdrawal(self) -> None:
        """Pay out of idle cash as much of the pending withdrawal as it holds."""
        take = min(self.cash, self.pending_withdrawal)
        if take > 0:
            self.cash -= take
            self.pending_withdrawal -= take
            self.withdrawn += take

    def reconcile(self, holdings: Mapping[str, float]) -> None:
        """The host's amounts are the truth (a fee taken in the coin, a dust difference)."""
        # in a fixed order (the ledger's, then the host's), never a set's: the orders follow this order
        for pair in [*self.holdings, *(p for p in holdings if p not in self.holdings)]:
            self.holdings[pair] = float(holdings.get(pair, 0.0))

    def unapplied(self, investment: float) -> float:
        """The settings' investment minus the principal the ledger accounts for it (> 0: a deposit is due)."""
        return investment + self.deposited - (self.invested - self.withdrawal_kept)

    def held_pairs(self, targets: Mapping[str, float]) -> tuple[str, ...]:
        """The target pairs, then any other pair still held (a coin removed from the targets)."""
        extra = [p for p, q in self.holdings.items() if q > 0 and p not in targets]
        return (*targets, *extra) if extra else tuple(targets)

    def hodl_pairs(self) -> tuple[str, ...]:
        return tuple(p for p, q in self.hodl.holdings.items() if q > 0)

    def set_dust(self, dust: Mapping[str, float]) -> None:
        """The host measured the dust fees taken in the coin left outside its trades: it is the portfolio's."""
        self.dust = {p: float(q) for p, q in dust.items() if q > 0}

    def fold_dust(self, pair: str, amount: float) -> None:
        """``amount`` of the pair's dust goes into its holding (a sell takes it along): the value is unchanged."""
        dust = self.dust.get(pair, 0.0)
        amount = min(max(0.0, amount), dust)
        if amount <= 0:
            return
        self.holdings[pair] = self.holdings.get(pair, 0.0) + amount
        left = dust - amount
        if left > 0:
            self.dust[pair] = left
        else:
            self.dust.pop(pair, None)

    def owned(self) -> dict[str, float]:
        """The coins the portfolio owns: its holdings plus their dust (smartpf_core.dust)."""
        return with_dust(self.holdings, self.dust)

    def value(self, prices: Mapping[str, float]) -> float:
        """Holdings and their dust at ``prices`` (a pair without a price is left out), plus the cash."""
        dust = {p: d for p, d in self.dust.items() if p in prices}
        return portfolio_value(with_dust(self.holdings, dust), prices, self.cash)

    def profit_rate(self, prices: Mapping[str, float]) -> float:
        """(V - net invested) / net invested."""
        return (self.value(prices) - self.invested) / self.invested if self.invested > 0 else 0.0

    def metrics(self) -> Metrics:
        return Metrics(self.orders_filled, self.fees_paid, self.turnover, self.rebalances)
