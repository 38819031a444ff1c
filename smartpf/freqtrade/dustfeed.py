"""Feed the core's dust rule (``smartpf_core.dust``) from Freqtrade: the account's balances, the open
trades' booked amounts, and what the portfolio's orders brought in (bought minus sold, before fees)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
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


def take_into_trade(trade: Any, extra: float) -> float:
    """``extra`` coins of the account's dust into ``trade`` (the engine folded them into a sell of the coin,
    smartpf_core.dust.fold_into_sell): Freqtrade sells only what a trade holds, and its trade holds a buy's
    amount less the fee it recorded in the coin (``ft_fee_base``), floored to the step. That record is lowered
    by ``extra`` on the trade's buys, newest first (the coins are in the account: they are the trade's), and
    the trade's amount recomputed as Freqtrade computes it. Returns the coins the trade gained."""
    if extra <= 0:
        return 0.0
    before = float(trade.amount or 0.0)
    left = extra
    for order in sorted((o for o in trade.orders if o.ft_order_side == trade.entry_side and not o.ft_is_open),
                        key=lambda o: o.order_date or datetime.min, reverse=True):
        fee = float(order.ft_fee_base or 0.0)
        take = min(fee, left)
        if take > 0:
            order.ft_fee_base = fee - take
            left -= take
        if left <= 0:
            break
    trade.recalc_trade_from_orders()
    return float(trade.amount or 0.0) - before


def fold_into_trades(orders: Iterable[Any], holdings: Mapping[str, float], trades: Iterable[Any]) -> list[str]:
    """Live, before Freqtrade sends the engine's sells: where the engine folded dust into a sell (its holding is
    now above the trade's amount), the trade takes those coins in (``take_into_trade``) and is saved. Log lines."""
    lines = []
    by_pair = {t.pair: t for t in trades}
    for order in orders:
        trade = by_pair.get(order.pair)
        if order.side != "sell" or trade is None:
            continue
        extra = float(holdings.get(order.pair, 0.0)) - float(trade.amount or 0.0)
        if extra > 1e-12 * max(1.0, float(trade.amount or 0.0)):
            gained = take_into_trade(trade, extra)
            lines.append(f"{order.id}: {gained:g} {order.pair} of dust folded into the sell ({extra:g} asked)")
    if lines:
        from freqtrade.persistence import Trade

        Trade.commit()
    return lines
