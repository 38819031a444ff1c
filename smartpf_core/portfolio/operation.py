"""The operation under way and its tracked orders (moved out of the engine)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..events import Order

PLANNED, OPEN, FILLED, FAILED = "planned", "open", "filled", "failed"


@dataclass
class _OrderState:
    order: Order
    status: str = PLANNED

    def to_dict(self) -> dict[str, Any]:
        o = self.order
        return {
            "id": o.id, "op_id": o.op_id, "pair": o.pair, "side": o.side, "amount": o.amount,
            "price": o.price, "full": o.full, "status": self.status,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> _OrderState:
        order = Order(d["id"], d["op_id"], d["pair"], d["side"], d["amount"], d["price"], d["full"])
        return cls(order, d["status"])


@dataclass
class _Operation:
    id: str
    kind: str
    phase: str  # "sell" or "buy"
    orders: dict[str, _OrderState] = field(default_factory=dict)

    def outstanding(self) -> list[_OrderState]:
        return [o for o in self.orders.values() if o.status in (PLANNED, OPEN)]

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "phase": self.phase,
                "orders": [o.to_dict() for o in self.orders.values()]}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> _Operation:
        orders = [_OrderState.from_dict(o) for o in d["orders"]]
        return cls(d["id"], d["kind"], d["phase"], {o.order.id: o for o in orders})
