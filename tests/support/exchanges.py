"""Twelve exchanges' ccxt markets (tests/data/ccxt-markets) and ccxt's own order checks, offline.

``sendable`` is the test of an order: ccxt's ``amount_to_precision`` / ``price_to_precision`` (the
exchange class, its markets set from the file, its precision mode set to the file's) leave it
unchanged, and it clears every limit the market states. ccxt 4.5.90 has no ``bitmart`` class; its
file is checked with ccxt's base ``Exchange`` in TICK_SIZE mode (the generic rounding every class
inherits), after its rules were checked against its own raw fields (``RAW_STEPS``).
"""

from __future__ import annotations

import json
from decimal import Decimal
from functools import cache
from pathlib import Path

import ccxt

from smartpf.markets import DECIMAL_PLACES, Markets, markets_from_json

DATA = Path(__file__).resolve().parents[1] / "data" / "ccxt-markets"
EXCHANGES = ("binance", "okx", "xt", "kraken", "bybit", "gate", "kucoin", "coinbase", "bitget", "htx", "bitmart",
             "mexc")
# Rough prices of the fixtures' era; tests scale them and put them on each market's tick.
REFERENCE_PRICES = {"BTC": 37000.0, "ETH": 2000.0, "ADA": 0.38, "LTC": 70.0, "XRP": 0.6, "DOGE": 0.08, "TRX": 0.1,
                    "SOL": 60.0, "ATLAS": 0.003, "PYTH": 0.4}


def _places(text: str) -> float:
    return float(Decimal(1).scaleb(-int(text)))


def _binance(info: dict) -> tuple[float, float]:
    filters = {f["filterType"]: f for f in info["filters"]}
    return float(filters["LOT_SIZE"]["stepSize"]), float(filters["PRICE_FILTER"]["tickSize"])


# Each exchange's own raw fields (the market's ``info``) for (amount step, price tick).
RAW_STEPS = {
    "binance": _binance,
    "okx": lambda i: (float(i["lotSz"]), float(i["tickSz"])),
    "xt": lambda i: (_places(i["quantityPrecision"]), _places(i["pricePrecision"])),
    "kraken": lambda i: (_places(i["lot_decimals"]), float(i["tick_size"])),
    "bybit": lambda i: (float(i["lotSizeFilter"]["basePrecision"]), float(i["priceFilter"]["tickSize"])),
    "gate": lambda i: (_places(i["amount_precision"]), _places(i["precision"])),
    "kucoin": lambda i: (float(i["baseIncrement"]), float(i["priceIncrement"])),
    "coinbase": lambda i: (float(i["base_increment"]), float(i["price_increment"])),
    "bitget": lambda i: (_places(i["quantityPrecision"]), _places(i["pricePrecision"])),
    "htx": lambda i: (_places(i["amount-precision"]), _places(i["price-precision"])),
    # bitmart names the base-quantity increment "quote_increment"; price precision is in decimal places
    "bitmart": lambda i: (float(i["quote_increment"]), _places(i["price_max_precision"])),
    "mexc": lambda i: (_places(i["baseAssetPrecision"]), _places(i["quoteAssetPrecision"])),
}


@cache
def raw(name: str) -> dict:
    return json.loads((DATA / f"{name}.json").read_text(encoding="utf-8"))


@cache
def markets(name: str) -> Markets:
    return markets_from_json(raw(name), f"{name}.json")


def active_pairs(name: str) -> list[str]:
    return sorted(p for p in markets(name).rules if p not in markets(name).inactive)


@cache
def exchange(name: str) -> ccxt.Exchange:
    """The exchange's ccxt class, offline: markets from the file, precision mode the file's."""
    cls = getattr(ccxt, name, None) or ccxt.Exchange
    ex = cls({"enableRateLimit": False})
    ex.set_markets(raw(name))
    ex.precisionMode = ccxt.DECIMAL_PLACES if markets(name).precision_mode == DECIMAL_PLACES else ccxt.TICK_SIZE
    return ex


def market(name: str, pair: str) -> dict:
    return next(m for m in raw(name).values() if f"{m['base']}/{m['quote']}" == pair)


def on_tick(price: float, tick: float) -> float:
    """``price`` on the market's tick grid (at least one tick), as a ticker would quote it."""
    if tick <= 0:
        return price
    step = Decimal(repr(tick))
    return float(max(step, (Decimal(repr(price)) / step).to_integral_value() * step))


def problems(name: str, pair: str, side: str, amount: float, price: float) -> list[str]:
    """Why ccxt or the exchange's limits would not accept this order as the core emitted it (empty: sendable)."""
    ex, m = exchange(name), market(name, pair)
    symbol = m["symbol"]
    found = []
    try:
        rounded = float(ex.amount_to_precision(symbol, amount))
    except ccxt.BaseError as exc:
        return [f"amount_to_precision refused {amount!r}: {exc}"]
    if rounded != amount:
        found.append(f"amount {amount!r} -> {rounded!r} by amount_to_precision")
    if float(ex.price_to_precision(symbol, price)) != price:
        found.append(f"price {price!r} -> {ex.price_to_precision(symbol, price)} by price_to_precision")
    cost = amount * price
    limits = m.get("limits") or {}
    for kind, value in (("amount", amount), ("cost", cost), ("price", price)):
        low, high = (limits.get(kind) or {}).get("min"), (limits.get(kind) or {}).get("max")
        if low is not None and value < low:
            found.append(f"{side} {pair} {kind} {value!r} below the minimum {low}")
        if high is not None and value > high:
            found.append(f"{side} {pair} {kind} {value!r} above the maximum {high}")
    return found


def basket_spec(percents: dict[str, float], investment: float, fee: float = 0.001, threshold: float = 1.0,
                min_trade: float = 5.0):
    """A proportional portfolio over ``{pair: percent}`` (the percents sum to 100)."""
    from smartpf_core import parse_settings

    assets = {p.split("/")[0]: v for p, v in percents.items()}
    result = parse_settings({"stake_currency": "USDT", "fee": fee, "smart_portfolio": {
        "assets": assets, "investment": investment, "threshold": threshold, "min_trade": min_trade}})
    assert result.ok, result.lines()
    return result.spec
