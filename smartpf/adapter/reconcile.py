"""Freqtrade's trade database is the truth: match the engine's orders to what was really ordered.

Every adjustment order carries the engine order id as its Freqtrade order tag; an initial entry
(opened from the entry signal, whose tag cannot be set per order) carries ``ENTRY_TAG`` and is
matched by pair, side and time. Used on every loop, so that a fill missed by a crash or a restart is
booked exactly once, and an order Freqtrade refused to place is closed instead of awaited forever.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from smartpf_core import Engine, Fill, Order

ENTRY_TAG = "smartpf-entry"
CLOSED = ("closed",)
ENDED = ("canceled", "cancelled", "expired", "rejected")


def _ts(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.timestamp()
    return float(value)


def fill_from(order: Order, ft_order: Any, trade: Any, when: float) -> Fill:
    """A core Fill from a Freqtrade order: filled amount, average price, and the fee in quote."""
    amount = float(ft_order.safe_filled or 0.0)
    price = float(ft_order.safe_price or order.price)
    is_entry = ft_order.ft_order_side == getattr(trade, "entry_side", "buy")
    rate = (trade.fee_open if is_entry else trade.fee_close) or 0.0
    done = _ts(getattr(ft_order, "order_filled_date", None)) or when
    return Fill(order.id, amount, price, amount * price * float(rate), done)


def find_ft_order(order: Order, trades: Iterable[Any], since: float) -> tuple[Any, Any] | None:
    """The Freqtrade order (and its trade) that carries out ``order``, if Freqtrade created it."""
    fallback = None
    for trade in trades:
        for ft_order in trade.orders:
            if ft_order.ft_order_side != order.side:
                continue
            if ft_order.ft_order_tag == order.id:
                return ft_order, trade
            if (order.side == "buy" and ft_order.ft_order_tag == ENTRY_TAG and fallback is None
                    and (_ts(ft_order.order_date) or 0.0) >= since - 1e-6):
                fallback = (ft_order, trade)
    return fallback


def reconcile(engine: Engine, trades_by_pair: Mapping[str, list[Any]], now: float, op_started: float) -> list[str]:
    """Bring the engine's outstanding orders in line with the database. Returns log lines."""
    lines: list[str] = []
    for order in engine.pending_orders():
        status = engine.order_status(order.id)
        found = find_ft_order(order, trades_by_pair.get(order.pair, []), op_started)
        if found is None:
            if status == "open":
                engine.order_closed(order.id)
                lines.append(f"{order.id}: Freqtrade did not place this order; the operation moves on without it")
            continue
        ft_order, trade = found
        state = (ft_order.status or "").lower()
        if state in CLOSED and (ft_order.safe_filled or 0) > 0:
            engine.on_fill(fill_from(order, ft_order, trade, now))
            lines.append(f"{order.id}: booked fill of {ft_order.safe_filled} {order.pair} from the trade database")
        elif state in ENDED or (state in CLOSED and not ft_order.safe_filled):
            partial = fill_from(order, ft_order, trade, now) if (ft_order.safe_filled or 0) > 0 else None
            engine.order_closed(order.id, partial)
            lines.append(f"{order.id}: order {state} on the exchange")
        elif status == "planned":
            engine.order_placed(order.id)
    return lines
