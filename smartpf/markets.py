"""Exchange rules from a markets file or a ccxt market, as the core's ``MarketRules`` per pair.

One reader for every path that turns an exchange's markets into smartpf's rules (the CLI's
``--markets``, the replay exchange, the Freqtrade adapter). Two file formats, recognised by shape:

- a raw Binance ``exchangeInfo`` body: an object with a ``symbols`` list (``filters`` per symbol);
- ccxt's unified markets (``exchange.markets``): an object keyed by symbol, each value with
  ``precision`` and ``limits``.

ccxt gives ``precision`` in one of two modes, and a file does not say which. A file is read as
DECIMAL_PLACES (``amount: 5`` = step 0.00001) when every ``precision.amount`` and ``precision.price``
of its markets is a whole number, else as TICK_SIZE (the value is the step). When a market carries
Binance's raw filters in ``info`` (``LOT_SIZE.stepSize``, ``PRICE_FILTER.tickSize``), the steps so
derived must equal them, or the file is refused: a wrong guess would round every order wrongly.
(A TICK_SIZE file whose steps are all whole numbers, e.g. only step-1 markets, would be misread;
no exchange we know of lists only such markets.)

Only spot markets are read. A missing limit means "no such limit" (0.0): a market without a cost
minimum still gets the portfolio's ``min_trade`` (the core takes the larger). Inactive markets keep
their rules but are listed in ``Markets.inactive`` so callers can warn or refuse.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from smartpf.errors import SmartpfError
from smartpf_core import MarketRules

TICK_SIZE = "TICK_SIZE"
DECIMAL_PLACES = "DECIMAL_PLACES"
EXCHANGE_INFO = "binance-exchangeInfo"
CCXT = "ccxt-markets"


class MarketsError(SmartpfError):
    pass


@dataclass(frozen=True)
class Limits:
    """What a market states beyond the core's rules (maxima, price band); 0.0 = not stated."""

    max_amount: float = 0.0
    max_notional: float = 0.0
    min_price: float = 0.0
    max_price: float = 0.0


@dataclass(frozen=True)
class Markets:
    """A markets file read: its format, precision mode, rules per spot pair, and what is odd about it."""

    format: str
    precision_mode: str
    rules: dict[str, MarketRules]
    limits: dict[str, Limits] = field(default_factory=dict)
    inactive: frozenset[str] = frozenset()
    missing: dict[str, tuple[str, ...]] = field(default_factory=dict)  # pair -> limits not stated

    def active_rules(self) -> dict[str, MarketRules]:
        return {p: r for p, r in self.rules.items() if p not in self.inactive}


def _num(value: Any) -> float:
    """A limit or precision value as a float; None, "" and non-numbers mean "not stated" (0.0)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return 0.0
    return number if math.isfinite(number) and number > 0 else 0.0


def places_to_step(places: float) -> float:
    """DECIMAL_PLACES -> step: 5 -> 0.00001, 0 -> 1."""
    return float(Decimal(1).scaleb(-int(places)))


def _step(value: Any, mode: str) -> float:
    if value is None:
        return 0.0
    if mode == DECIMAL_PLACES:
        try:
            return places_to_step(float(value))
        except (TypeError, ValueError, OverflowError):
            return 0.0
    return _num(value)


# ------------------------------------------------------------------ Binance exchangeInfo
def _filters(symbol: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f.get("filterType"): f for f in symbol.get("filters", []) if isinstance(f, dict)}


def rules_from_exchange_info(info: dict[str, Any]) -> dict[str, MarketRules]:
    return _read_exchange_info(info).rules


def _read_exchange_info(info: dict[str, Any]) -> Markets:
    rules: dict[str, MarketRules] = {}
    limits: dict[str, Limits] = {}
    inactive: set[str] = set()
    for symbol in info.get("symbols", []):
        if not isinstance(symbol, dict) or "baseAsset" not in symbol or "quoteAsset" not in symbol:
            continue
        filters = _filters(symbol)
        lot = filters.get("LOT_SIZE", {})
        notional = filters.get("NOTIONAL") or filters.get("MIN_NOTIONAL") or {}
        price = filters.get("PRICE_FILTER", {})
        pair = f"{symbol['baseAsset']}/{symbol['quoteAsset']}"
        rules[pair] = MarketRules(
            min_notional=_num(notional.get("minNotional")),
            min_amount=_num(lot.get("minQty")),
            amount_step=_num(lot.get("stepSize")),
            price_tick=_num(price.get("tickSize")),
            max_amount=_max_amount(lot, filters.get("MARKET_LOT_SIZE", {})),
        )
        limits[pair] = Limits(_num(lot.get("maxQty")), _num(notional.get("maxNotional")),
                              _num(price.get("minPrice")), _num(price.get("maxPrice")))
        if symbol.get("status", "TRADING") != "TRADING" or symbol.get("isSpotTradingAllowed") is False:
            inactive.add(pair)
    return Markets(EXCHANGE_INFO, TICK_SIZE, rules, limits, frozenset(inactive))


# ------------------------------------------------------------------ ccxt unified markets
def rules_from_ccxt_market(market: dict[str, Any], precision_mode: str = TICK_SIZE) -> MarketRules:
    """One ccxt market -> MarketRules. Freqtrade's ccxt (4.5.90) is in TICK_SIZE mode for every
    exchange we cover, so that is the default; pass the exchange's ``precisionMode`` otherwise."""
    limits = market.get("limits") or {}
    precision = market.get("precision") or {}
    return MarketRules(
        min_notional=_num((limits.get("cost") or {}).get("min")),
        min_amount=_num((limits.get("amount") or {}).get("min")),
        amount_step=_step(precision.get("amount"), precision_mode),
        price_tick=_step(precision.get("price"), precision_mode),
        max_amount=_smallest_max((limits.get("amount") or {}).get("max"), (limits.get("market") or {}).get("max")),
    )


def _max_amount(lot: dict[str, Any], market_lot: dict[str, Any]) -> float:
    """Market orders obey MARKET_LOT_SIZE as well as LOT_SIZE."""
    return _smallest_max(lot.get("maxQty"), market_lot.get("maxQty"))


def _smallest_max(*values: Any) -> float:
    """The smallest maximum a market states (0: none; NO_MAX, our own rendering of "none", is none too)."""
    stated = [v for v in map(_num, values) if 0 < v < NO_MAX]
    return min(stated) if stated else 0.0


def limits_from_ccxt_market(market: dict[str, Any]) -> Limits:
    limits = market.get("limits") or {}
    return Limits(
        max_amount=_num((limits.get("amount") or {}).get("max")),
        max_notional=_num((limits.get("cost") or {}).get("max")),
        min_price=_num((limits.get("price") or {}).get("min")),
        max_price=_num((limits.get("price") or {}).get("max")),
    )


def _is_spot(market: Any) -> bool:
    return isinstance(market, dict) and (market.get("spot") is True or market.get("type") == "spot")


def precision_mode(markets: dict[str, Any]) -> str:
    """DECIMAL_PLACES when every spot market's amount and price precision is a whole number."""
    values = []
    for market in markets.values():
        if _is_spot(market):
            precision = market.get("precision") or {}
            values += [precision.get(k) for k in ("amount", "price") if precision.get(k) is not None]
    if values and all(isinstance(v, (int, float)) and float(v).is_integer() and v >= 0 for v in values):
        return DECIMAL_PLACES
    return TICK_SIZE


def _confirm_mode(pair: str, market: dict[str, Any], rules: MarketRules, mode: str, source: str) -> None:
    """Binance raw filters in ``info`` must agree with the steps the mode gives."""
    info = market.get("info")
    if not isinstance(info, dict) or not isinstance(info.get("filters"), list):
        return
    filters = _filters(info)
    for kind, key, derived in (("LOT_SIZE", "stepSize", rules.amount_step),
                               ("PRICE_FILTER", "tickSize", rules.price_tick)):
        raw = _num(filters.get(kind, {}).get(key))
        if raw and derived and not math.isclose(raw, derived, rel_tol=1e-9):
            raise MarketsError(
                f"--markets {source}: {pair}: read as {mode} precision the {kind} step is {derived:g}, but the "
                f"exchange's own {kind}.{key} is {raw:g}; the file's precision mode cannot be told")


def read_ccxt_markets(markets: dict[str, Any], source: str = "markets") -> Markets:
    mode = precision_mode(markets)
    rules: dict[str, MarketRules] = {}
    limits: dict[str, Limits] = {}
    inactive: set[str] = set()
    missing: dict[str, tuple[str, ...]] = {}
    for market in markets.values():
        if not _is_spot(market) or not market.get("base") or not market.get("quote"):
            continue
        pair = f"{market['base']}/{market['quote']}"  # also for an entry keyed by id (htx)
        rules[pair] = rule = rules_from_ccxt_market(market, mode)
        _confirm_mode(pair, market, rule, mode, source)
        limits[pair] = limits_from_ccxt_market(market)
        if market.get("active") is False:
            inactive.add(pair)
        stated = market.get("limits") or {}
        gaps = tuple(f"{kind}.min" for kind in ("amount", "cost") if not _num((stated.get(kind) or {}).get("min")))
        if gaps:
            missing[pair] = gaps
    return Markets(CCXT, mode, rules, limits, frozenset(inactive), missing)


# ------------------------------------------------------------------ files
def markets_from_json(data: Any, source: str = "markets") -> Markets:
    """Either format, recognised by its shape; MarketsError says what was expected."""
    if isinstance(data, dict) and isinstance(data.get("symbols"), list):
        return _read_exchange_info(data)
    if isinstance(data, dict) and data and any(
            isinstance(m, dict) and "precision" in m and "limits" in m for m in data.values()):
        return read_ccxt_markets(data, source)
    raise MarketsError(f"--markets: {source!r} is neither a Binance exchangeInfo body (a 'symbols' list) nor ccxt "
                       "markets (an object of markets with 'precision' and 'limits')")


def _read_json(path: str | Path) -> Any:
    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise MarketsError(f"--markets: file {str(path)!r} does not exist (a Binance exchangeInfo or ccxt "
                           "markets JSON)") from exc
    except (OSError, ValueError, RecursionError) as exc:
        raise MarketsError(f"--markets: {str(path)!r} is not a readable JSON file: {exc}") from exc


def read_markets(path: str | Path) -> Markets:
    return markets_from_json(_read_json(path), str(path))


def load_rules(path: str | Path) -> dict[str, MarketRules]:
    return read_markets(path).rules


def read_exchange_info(path: str | Path) -> dict[str, Any]:
    """A Binance exchangeInfo body from a file, for the replay exchange to serve. A ccxt markets
    file is rendered as one (``exchange_info_from_markets``) so any exchange's rules can be served."""
    data = _read_json(path)
    if isinstance(data, dict) and isinstance(data.get("symbols"), list):
        return data
    return exchange_info_from_markets(markets_from_json(data, str(path)))


NO_MAX = 9e15  # an unstated maximum; Binance's "0" would read as a maximum of 0 to ccxt/Freqtrade


def _plain(value: float) -> str:
    return format(Decimal(repr(value)), "f") if value else "0"


def exchange_info_from_markets(markets: Markets) -> dict[str, Any]:
    """The rules as a Binance exchangeInfo body (filters only for what the market states)."""
    symbols = []
    for pair, rule in markets.rules.items():
        base, quote = pair.split("/")
        lim = markets.limits.get(pair, Limits())
        filters = [
            {"filterType": "PRICE_FILTER", "minPrice": _plain(lim.min_price),
             "maxPrice": _plain(lim.max_price or NO_MAX), "tickSize": _plain(rule.price_tick)},
            {"filterType": "LOT_SIZE", "minQty": _plain(rule.min_amount),
             "maxQty": _plain(rule.max_amount or lim.max_amount or NO_MAX),
             "stepSize": _plain(rule.amount_step)},
            {"filterType": "NOTIONAL", "minNotional": _plain(rule.min_notional), "applyMinToMarket": True,
             "maxNotional": _plain(lim.max_notional or NO_MAX), "applyMaxToMarket": False, "avgPriceMins": 5},
        ]
        symbols.append({
            "symbol": base + quote, "status": "BREAK" if pair in markets.inactive else "TRADING",
            "baseAsset": base, "baseAssetPrecision": 8, "quoteAsset": quote, "quotePrecision": 8,
            "quoteAssetPrecision": 8, "baseCommissionPrecision": 8, "quoteCommissionPrecision": 8,
            "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET"], "icebergAllowed": False, "ocoAllowed": False,
            "quoteOrderQtyMarketAllowed": True, "allowTrailingStop": False, "cancelReplaceAllowed": False,
            "isSpotTradingAllowed": pair not in markets.inactive, "isMarginTradingAllowed": False,
            "filters": filters, "permissions": ["SPOT"],
        })
    return {"timezone": "UTC", "serverTime": 0, "rateLimits": [], "exchangeFilters": [], "symbols": symbols}
