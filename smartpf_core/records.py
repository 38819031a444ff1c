"""Records: the ledger of operations and trades, and the HODL shadow kept for comparison."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from .planner import SkippedOrder


@dataclass
class TradeRecord:
    time: float
    pair: str
    side: str
    amount: float
    price: float
    fee: float
    order_id: str

    @property
    def value(self) -> float:
        return self.amount * self.price


@dataclass
class OperationRecord:
    """One operation: the initial purchase, a rebalance, an investment change or the exit."""

    id: str
    kind: str  # initial | rebalance | deposit | withdraw | exit
    trigger: str  # start | threshold | schedule | targets_changed | investment | take_profit | ...
    reason: str
    started_at: float
    finished_at: float | None = None
    status: str = "running"  # running | done | interrupted
    trades: list[TradeRecord] = field(default_factory=list)
    skipped: list[SkippedOrder] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["skipped"] = [asdict(s) for s in self.skipped]
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> OperationRecord:
        return cls(
            id=data["id"],
            kind=data["kind"],
            trigger=data["trigger"],
            reason=data["reason"],
            started_at=data["started_at"],
            finished_at=data.get("finished_at"),
            status=data.get("status", "done"),
            trades=[TradeRecord(**t) for t in data.get("trades", [])],
            skipped=[SkippedOrder(**s) for s in data.get("skipped", [])],
        )


# The columns of the trading records (``smartpf backtest --records`` and, later, a running bot's).
RECORD_COLUMNS = ("time", "operation_id", "operation_kind", "trigger", "pair", "side", "quantity", "price", "fee")
_KINDS = {"withdraw": "withdrawal"}
_TRIGGERS = {"targets_changed": "targets", "start": "", "investment": "", "adopt": ""}


def trade_rows(records: Iterable[OperationRecord]) -> list[dict[str, Any]]:
    """One row per filled order, in order, with the record columns (``time`` in epoch seconds).

    ``operation_kind``: initial, rebalance, deposit, withdrawal or exit. ``trigger``: threshold,
    schedule, targets, take_profit, stop_loss, terminate, or empty (the initial purchase and
    investment changes, which the user's own action explains).
    """
    rows = []
    for record in records:
        kind = _KINDS.get(record.kind, record.kind)
        trigger = _TRIGGERS.get(record.trigger, record.trigger)
        for t in record.trades:
            rows.append({"time": t.time, "operation_id": record.id, "operation_kind": kind, "trigger": trigger,
                         "pair": t.pair, "side": t.side, "quantity": t.amount, "price": t.price, "fee": t.fee})
    return rows


@dataclass
class Hodl:
    """The initial basket, never rebalanced; it receives the same additions and withdrawals."""

    holdings: dict[str, float] = field(default_factory=dict)
    cash: float = 0.0

    def value(self, prices: Mapping[str, float]) -> float:
        return self.cash + sum(q * prices.get(p, 0.0) for p, q in self.holdings.items())

    def deposit(self, amount: float, weights: Mapping[str, float], prices: Mapping[str, float], fee: float) -> None:
        """Buy ``amount`` worth of the basket at its target weights (fees included)."""
        spend = amount / (1 + fee)
        for pair, weight in weights.items():
            self.holdings[pair] = self.holdings.get(pair, 0.0) + spend * weight / prices[pair]

    def withdraw(self, amount: float, prices: Mapping[str, float], fee: float) -> None:
        """Take ``amount`` out: idle cash first, then the same fraction of every coin."""
        take = min(self.cash, amount)
        self.cash -= take
        rest = amount - take
        coins = self.value(prices) - self.cash
        if rest <= 0 or coins <= 0:
            return
        fraction = min(1.0, rest / (coins * (1 - fee)))
        for pair in self.holdings:
            self.holdings[pair] *= 1 - fraction

    def to_dict(self) -> dict[str, Any]:
        return {"holdings": dict(self.holdings), "cash": self.cash}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Hodl:
        return cls(dict(data.get("holdings", {})), float(data.get("cash", 0.0)))
