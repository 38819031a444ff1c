"""Every state and kind of a portfolio, and one transition table per state machine.

Everything that moves a machine lives here (after h11's ``_state.py``): a state changes only through
``Machine.transition``, which raises ``IllegalTransition`` on a move that is not in the machine's table
(after NautilusTrader's ``FiniteStateMachine.trigger``). The enums are ``StrEnum``: a saved state holds
their plain values, so files written before these types existed read and write back byte for byte.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Generic, TypeVar


class PortfolioStatus(StrEnum):
    NEW = "new"  # created, the initial purchase not finished
    RUNNING = "running"
    TERMINATED = "terminated"  # for good: it trades no more


class PortfolioEvent(StrEnum):
    BOUGHT = "bought"  # the initial purchase finished
    ADOPTED = "adopted"  # made of positions that already exist (``smartpf adopt``)
    TERMINATED = "terminated"  # an exit (take-profit, stop-loss, terminate) finished


class OpKind(StrEnum):
    INITIAL = "initial"
    REBALANCE = "rebalance"
    DEPOSIT = "deposit"
    WITHDRAW = "withdraw"
    EXIT = "exit"
    ADOPT = "adopt"  # only ever a record: adopting places no order


OP_PREFIX = {OpKind.INITIAL: "init", OpKind.REBALANCE: "rb", OpKind.DEPOSIT: "dep", OpKind.WITHDRAW: "wd",
             OpKind.EXIT: "exit", OpKind.ADOPT: "adopt"}


class Phase(StrEnum):
    """An operation's phase: its sells first, then its buys; DONE is never saved (the operation is gone)."""

    SELL = "sell"
    BUY = "buy"
    DONE = "done"


class PhaseEvent(StrEnum):
    SOLD = "sold"  # every sell closed: a rebalance or a deposit goes on to buy
    FINISHED = "finished"


class OrderStatus(StrEnum):
    """A tracked order (after hummingbot's ``OrderState``): planned until the host says it sent it."""

    PLANNED = "planned"
    OPEN = "open"
    FILLED = "filled"
    FAILED = "failed"  # cancelled, expired or rejected (a partial fill is booked)


class OrderEvent(StrEnum):
    PLACED = "placed"
    FILLED = "filled"
    CLOSED = "closed"  # ended without a full fill


class StartState(StrEnum):
    """What a start finds for its trade database: no portfolio, or one in a given status."""

    NONE = "none"
    NEW = "new"
    RUNNING = "running"
    TERMINATED = "terminated"


class Evidence(StrEnum):
    """What the trade database's open trades say about the portfolio found (or its absence)."""

    NO_TRADES = "no_trades"  # no portfolio and no open trade
    TRADES = "trades"  # no portfolio, but open trades
    AGREE = "agree"  # the portfolio's holdings and the open trades tell the same story
    DISAGREE = "disagree"
    ANY = "any"  # a terminated portfolio: whatever the trades say


class StartAction(StrEnum):
    NEW = "new"
    RESUME = "resume"
    TERMINATED = "terminated"
    REFUSE = "refuse"


S = TypeVar("S", bound=StrEnum)
E = TypeVar("E", bound=StrEnum)
T = TypeVar("T", bound=StrEnum)


class IllegalTransition(ValueError):
    """A move that is not in a machine's table: a bug in the caller, never a market event."""


@dataclass(frozen=True)
class Machine(Generic[S, E, T]):
    """One state machine: ``table[(state, event)]`` is where ``event`` takes ``state``; nothing else moves it."""

    name: str
    table: Mapping[tuple[S, E], T]

    def can(self, state: S, event: E) -> bool:
        return (state, event) in self.table

    def transition(self, state: S, event: E) -> T:
        try:
            return self.table[(state, event)]
        except KeyError:
            raise IllegalTransition(f"{self.name}: no transition from {state.value!r} on {event.value!r}") from None


PORTFOLIO: Machine[PortfolioStatus, PortfolioEvent, PortfolioStatus] = Machine("portfolio", {
    (PortfolioStatus.NEW, PortfolioEvent.BOUGHT): PortfolioStatus.RUNNING,
    (PortfolioStatus.NEW, PortfolioEvent.ADOPTED): PortfolioStatus.RUNNING,
    (PortfolioStatus.RUNNING, PortfolioEvent.TERMINATED): PortfolioStatus.TERMINATED,
})

# A rebalance sells, then buys with what its sells raised (one with nothing to sell starts at its buys);
# it finishes after its buy phase, even an empty one. Every other operation that sells (a withdrawal,
# the exit) is finished when its sells are; the initial purchase and a deposit only buy.
_SELL_THEN_BUY = {
    (Phase.SELL, PhaseEvent.SOLD): Phase.BUY,
    (Phase.BUY, PhaseEvent.FINISHED): Phase.DONE,
}
_SELL_ONLY = {(Phase.SELL, PhaseEvent.FINISHED): Phase.DONE}
_BUY_ONLY = {(Phase.BUY, PhaseEvent.FINISHED): Phase.DONE}
OPERATION: Mapping[OpKind, Machine[Phase, PhaseEvent, Phase]] = {
    OpKind.INITIAL: Machine("initial purchase", _BUY_ONLY),
    OpKind.REBALANCE: Machine("rebalance", _SELL_THEN_BUY),
    OpKind.DEPOSIT: Machine("deposit", _BUY_ONLY),  # a deposit only buys
    OpKind.WITHDRAW: Machine("withdrawal", _SELL_ONLY),
    OpKind.EXIT: Machine("exit", _SELL_ONLY),
}

ORDER: Machine[OrderStatus, OrderEvent, OrderStatus] = Machine("order", {
    (OrderStatus.PLANNED, OrderEvent.PLACED): OrderStatus.OPEN,
    (OrderStatus.OPEN, OrderEvent.PLACED): OrderStatus.OPEN,  # a host may say it twice (after a restart)
    (OrderStatus.PLANNED, OrderEvent.FILLED): OrderStatus.FILLED,  # the fill reported before the placement
    (OrderStatus.OPEN, OrderEvent.FILLED): OrderStatus.FILLED,
    (OrderStatus.PLANNED, OrderEvent.CLOSED): OrderStatus.FAILED,
    (OrderStatus.OPEN, OrderEvent.CLOSED): OrderStatus.FAILED,
})

START: Machine[StartState, Evidence, StartAction] = Machine("start decision", {
    (StartState.NONE, Evidence.NO_TRADES): StartAction.NEW,
    (StartState.NONE, Evidence.TRADES): StartAction.REFUSE,
    (StartState.NEW, Evidence.AGREE): StartAction.RESUME,
    (StartState.NEW, Evidence.DISAGREE): StartAction.REFUSE,
    (StartState.RUNNING, Evidence.AGREE): StartAction.RESUME,
    (StartState.RUNNING, Evidence.DISAGREE): StartAction.REFUSE,
    (StartState.TERMINATED, Evidence.ANY): StartAction.TERMINATED,
})
