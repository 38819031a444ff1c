"""Exchange rules from a raw Binance ``exchangeInfo`` body, as the core's ``MarketRules`` per pair."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from smartpf_core import MarketRules


class MarketsError(Exception):
    pass


def rules_from_exchange_info(info: dict[str, Any]) -> dict[str, MarketRules]:
    rules: dict[str, MarketRules] = {}
    for symbol in info.get("symbols", []):
        filters = {f.get("filterType"): f for f in symbol.get("filters", [])}
        lot = filters.get("LOT_SIZE", {})
        notional = filters.get("NOTIONAL") or filters.get("MIN_NOTIONAL") or {}
        price = filters.get("PRICE_FILTER", {})
        pair = f"{symbol['baseAsset']}/{symbol['quoteAsset']}"
        rules[pair] = MarketRules(
            min_notional=float(notional.get("minNotional", 0) or 0),
            min_amount=float(lot.get("minQty", 0) or 0),
            amount_step=float(lot.get("stepSize", 0) or 0),
            price_tick=float(price.get("tickSize", 0) or 0),
        )
    return rules


def read_exchange_info(path: str | Path) -> dict[str, Any]:
    """A raw Binance exchangeInfo body from a file; MarketsError names the file and what is wrong."""
    path = Path(path)
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise MarketsError(f"--markets: file {str(path)!r} does not exist (a raw Binance exchangeInfo JSON)") from exc
    except (OSError, ValueError, RecursionError) as exc:
        raise MarketsError(f"--markets: {str(path)!r} is not a readable exchangeInfo JSON: {exc}") from exc
    if not isinstance(info, dict) or not isinstance(info.get("symbols"), list):
        raise MarketsError(f"--markets: {str(path)!r} has no 'symbols' list (expected a Binance exchangeInfo body)")
    for number, symbol in enumerate(info["symbols"]):
        name = symbol.get("symbol", f"#{number}") if isinstance(symbol, dict) else f"#{number}"
        lacking = [k for k in ("baseAsset", "quoteAsset") if not isinstance(symbol, dict)
                   or not isinstance(symbol.get(k), str) or not symbol.get(k)]
        if lacking or not isinstance(symbol.get("filters", []), list):
            what = f"no {' or '.join(lacking)}" if lacking else "'filters' is not a list"
            raise MarketsError(f"--markets: {str(path)!r}: symbol {name!r} has {what} (expected a Binance "
                               "exchangeInfo body)")
    return info


def load_rules(path: str | Path) -> dict[str, MarketRules]:
    info = read_exchange_info(path)
    try:
        return rules_from_exchange_info(info)
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        raise MarketsError(f"--markets: {str(path)!r} holds a filter value that is not a number: {exc}") from exc
