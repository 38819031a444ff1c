"""Feed the core's dust rule (``smartpf_core.dust``) from Freqtrade: the account's balances, the open
trades' booked amounts, and what the portfolio's orders brought in (bought minus sold, before fees)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from smartpf_core.dust import dust_by_pair


def ordered_amount(trade: Any) -> float:
    """Coins the trade's filled orders moved, before fees: bought minus sold."""
    total = 0.0
    for o in trade.orders:
        filled = float(o.safe_filled or 0.0) if o.ft_order_side in ("buy", "sell") else 0.0
        total += filled if o.ft_order_side == getattr(trade, "entry_side", "buy") else -filled
    return total


def measure(trades: Iterable[Any], balance_of: Callable[[str], float]) -> dict[str, float]:
    """Per pair, the dust of the open trades' coins; ``balance_of(coin)`` is the account's total of it."""
    booked: dict[str, float] = {}
    ordered: dict[str, float] = {}
    for t in trades:
        booked[t.pair] = booked.get(t.pair, 0.0) + float(t.amount or 0.0)
        ordered[t.pair] = ordered.get(t.pair, 0.0) + ordered_amount(t)
    on_exchange = {pair: float(balance_of(pair.split("/")[0]) or 0.0) for pair in booked}
    return dust_by_pair(on_exchange, booked, ordered)


def fee_in_coin(exchange: Any, ft_order: Any, pair: str, ask: Callable[..., float]) -> float:
    """A buy's fee paid in the coin bought: Freqtrade's own record of it, else the exchange's trades."""
    known = float(getattr(ft_order, "ft_fee_base", None) or 0.0)
    if known > 0:
        return known
    since = ft_order.order_date if isinstance(getattr(ft_order, "order_date", None), datetime) else None
    try:
        return float(ask(exchange, {"id": ft_order.order_id}, pair, since))
    except Exception:  # noqa: BLE001 - an unreadable exchange: the fee stays in quote, as before
        return 0.0
