"""Exchange rules as Freqtrade loaded them (ccxt market dicts) -> the core's MarketRules."""

from __future__ import annotations

from typing import Any

from smartpf_core import MarketRules


def rules_from_ccxt_market(market: dict[str, Any]) -> MarketRules:
    """ccxt (TICK_SIZE precision mode, as for Binance): precision.amount is the step size."""
    limits = market.get("limits") or {}
    precision = market.get("precision") or {}
    return MarketRules(
        min_notional=float((limits.get("cost") or {}).get("min") or 0.0),
        min_amount=float((limits.get("amount") or {}).get("min") or 0.0),
        amount_step=float(precision.get("amount") or 0.0),
        price_tick=float(precision.get("price") or 0.0),
    )
