"""A symbol's trading rules as Binance enforces them on new orders (PRICE_FILTER, LOT_SIZE,
MARKET_LOT_SIZE, NOTIONAL, MIN_NOTIONAL), read from its exchangeInfo entry."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from smartpf.replay.exchange.amounts import ZERO, dec


@dataclass
class SymbolRules:
    symbol: str
    base: str
    quote: str
    filters: dict[str, dict] = field(default_factory=dict)
    order_types: tuple[str, ...] = ("LIMIT", "MARKET")

    @classmethod
    def from_exchange_info(cls, entry: dict) -> SymbolRules:
        return cls(symbol=entry["symbol"], base=entry["baseAsset"], quote=entry["quoteAsset"],
                   filters={f["filterType"]: dict(f) for f in entry.get("filters", []) if "filterType" in f},
                   order_types=tuple(entry.get("orderTypes") or ("LIMIT", "MARKET")))

    def value(self, kind: str, key: str) -> Decimal:
        raw = self.filters.get(kind, {}).get(key)
        return dec(raw) if raw not in (None, "") else ZERO

    @property
    def step(self) -> Decimal:
        return self.value("LOT_SIZE", "stepSize")

    def failure(self, order_type: str, qty: Decimal, price: Decimal | None, ref_price: Decimal) -> str | None:
        """The name of the first filter the order breaks (Binance's "Filter failure: NAME"), or None.

        ``price`` is the limit price (None for market orders); ``ref_price`` the price a market
        order's notional is measured at.
        """
        market = order_type == "MARKET"
        if price is not None and "PRICE_FILTER" in self.filters:
            lo, hi, tick = (self.value("PRICE_FILTER", k) for k in ("minPrice", "maxPrice", "tickSize"))
            if (lo > 0 and price < lo) or (hi > 0 and price > hi) or (tick > 0 and (price - lo) % tick != 0):
                return "PRICE_FILTER"
        if not _qty_ok(self, "LOT_SIZE", qty):
            return "LOT_SIZE"
        if market and not _qty_ok(self, "MARKET_LOT_SIZE", qty):
            return "MARKET_LOT_SIZE"
        notional = qty * (ref_price if market or price is None else price)
        if "NOTIONAL" in self.filters:
            f = self.filters["NOTIONAL"]
            lo, hi = self.value("NOTIONAL", "minNotional"), self.value("NOTIONAL", "maxNotional")
            if (not market or f.get("applyMinToMarket", True)) and notional < lo:
                return "NOTIONAL"
            if (not market or f.get("applyMaxToMarket", False)) and hi > 0 and notional > hi:
                return "NOTIONAL"
        if "MIN_NOTIONAL" in self.filters:
            f = self.filters["MIN_NOTIONAL"]
            if (not market or f.get("applyToMarket", True)) and notional < self.value("MIN_NOTIONAL", "minNotional"):
                return "MIN_NOTIONAL"
        return None


def _qty_ok(rules: SymbolRules, kind: str, qty: Decimal) -> bool:
    if kind not in rules.filters:
        return True
    lo, hi, step = (rules.value(kind, k) for k in ("minQty", "maxQty", "stepSize"))
    if qty < lo or (hi > 0 and qty > hi):
        return False
    return not (step > 0 and (qty - lo) % step != 0)
