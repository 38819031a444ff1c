"""The operation under way and the orders it tracks, each moved only by its machine's table."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..events import Order
from .states import OPERATION, ORDER, OpKind, OrderEvent, OrderStatus, Phase, PhaseEvent

PLANNED, OPEN, FILLED, FAILED = OrderStatus.PLANNED, OrderStatus.OPEN, OrderStatus.FILLED, OrderStatus.FAILED


@dataclass
class TrackedOrder:
    """One order of the operation and how far it got."""

    order: Order
    status: OrderStatus = OrderStatus.PLANNED

    def can(self, event: OrderEvent) -> bool:
        return ORDER.can(self.status, event)

    def move(self, event: OrderEvent) -> None:
        self.status = ORDER.transition(self.status, event)

    def to_dict(self) -> dict[str, Any]:
        o = self.order
        return {
            "id": o.id, "op_id": o.op_id, "pair": o.pair, "side": o.side, "amount": o.amount,
            "price": o.price, "full": o.full, "status": self.status,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> TrackedOrder:
        order = Order(d["id"], d["op_id"], d["pair"], d["side"], d["amount"], d["price"], d["full"])
        return cls(order, OrderStatus(d["status"]))


@dataclass
class Operation:
    """The initial purchase, a rebalance, a deposit, a withdrawal or the exit, while it runs."""

    id: str
    kind: OpKind
    phase: Phase
    orders: dict[str, TrackedOrder] = field(default_factory=dict)
    targets: dict[str, float] | None = None  # a partial rebalance's weights (smartpf_core.gate), else the spec's

    def outstanding(self) -> list[TrackedOrder]:
        return [o for o in self.orders.values() if o.status in (OrderStatus.PLANNED, OrderStatus.OPEN)]

    def sold_pairs(self) -> set[str]:
        return {o.order.pair for o in self.orders.values() if o.order.side == "sell"}

    def move(self, event: PhaseEvent) -> None:
        self.phase = OPERATION[self.kind].transition(self.phase, event)

    def can(self, event: PhaseEvent) -> bool:
        return OPERATION[self.kind].can(self.phase, event)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "kind": self.kind, "phase": self.phase,
                                "orders": [o.to_dict() for o in self.orders.values()]}
        if self.targets is not None:  # (only then: a state saved before partial rebalances writes back the same)
            data["targets"] = dict(self.targets)
        return data

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Operation:
        """Raises ValueError for a kind or phase no operation has (a saved state is never trusted)."""
        kind, phase = OpKind(d["kind"]), Phase(d["phase"])
        machine = OPERATION.get(kind)
        if machine is None or not any(machine.can(phase, event) for event in PhaseEvent):
            raise ValueError(f"operation {d['id']!r}: kind {kind} has no {phase} phase under way")
        orders = [TrackedOrder.from_dict(o) for o in d["orders"]]
        targets = d.get("targets")
        return cls(d["id"], kind, phase, {o.order.id: o for o in orders},
                   None if targets is None else {str(p): float(w) for p, w in dict(targets).items()})


# the names these had inside the engine, kept importable for code written against them
_OrderState = TrackedOrder
_Operation = Operation
