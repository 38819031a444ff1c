"""What the bot refuses: the ``smart_portfolio`` section plus the Freqtrade settings that would break it.

Freqtrade lets config values silently override strategy attributes, so a per-trade stoploss or a
short whitelist in the config would sell coins or skip them behind the portfolio's back. ``check_config``
is the one function that decides whether a whole config will start: ``smartpf validate`` and the
SmartPortfolio strategy both call it, so "valid" means "it will start" (except what needs the
exchange: funding and minimums at live prices, checked at start). Pure: it reads a plain dict.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .channels import channel_settings
from .spec import Problem, Validation, parse_settings

# Freqtrade's candle sizes on Binance spot (ccxt's binance.timeframes); the strategy only needs one
# that the exchange serves.
TIMEFRAMES = ("1s", "1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h", "1d", "3d", "1w", "1M")


def check_config(config: Mapping[str, Any]) -> Validation:
    """Every problem that makes the bot refuse ``config``, each naming the key; the spec when the
    ``smart_portfolio`` section itself is valid (even if a Freqtrade setting is not)."""
    result = parse_settings(config)
    if not isinstance(config, Mapping):
        return result
    out = tuple(result.spec.pair(c) for c in (*result.spec.frozen, *result.spec.dropped)) if result.spec else ()
    problems = list(result.errors) + freqtrade_problems(config, result.spec.pairs if result.spec else None, out)
    problems += channel_settings(config.get("smart_portfolio"))[1]  # reports and messages (channels.py)
    return Validation(result.spec, tuple(problems), result.warnings)


def _get(mapping: Any, key: str, default: Any = None) -> Any:
    return mapping.get(key, default) if isinstance(mapping, Mapping) else default


def _real(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        return float(value)
    except OverflowError:
        return None


def freqtrade_problems(config: Mapping[str, Any], pairs: tuple[str, ...] | None,
                       held_out: tuple[str, ...] = ()) -> list[Problem]:
    """The Freqtrade-level settings that conflict with a portfolio of ``pairs`` (None: not known). The whitelist
    may also list ``held_out`` pairs: coins dropped from the weights but still held (``frozen``, ``dropped``)."""
    problems: list[Problem] = []

    def bad(key: str, value: Any, allowed: str) -> None:
        problems.append(Problem(key, value, allowed))

    if pairs is not None:
        whitelist = _get(config.get("exchange"), "pair_whitelist", [])
        listed = set(whitelist) if isinstance(whitelist, list) and all(isinstance(p, str) for p in whitelist) \
            else None
        if listed is None or not set(pairs) <= listed <= {*pairs, *held_out}:
            extra = sorted((listed or set()) - set(pairs) - set(held_out))
            missing = sorted(set(pairs) - (listed or set()))
            detail = "; ".join(filter(None, [f"not in assets: {', '.join(extra)}" if extra else "",
                                             f"missing: {', '.join(missing)}" if missing else ""]))
            shown = sorted(listed) if listed is not None else whitelist
            bad("exchange.pair_whitelist", shown, f"must be exactly the assets' pairs {sorted(pairs)} ({detail})")
        mot = config.get("max_open_trades")
        mot_num = _real(mot)
        slots = len(pairs) + len(held_out)  # (a coin kept out of the weights is still an open trade)
        if mot is not None and (mot_num is None or (mot_num != -1 and mot_num < slots)):
            bad("max_open_trades", mot, f"the portfolio holds {slots} coins, one open trade each; "
                                        f"set it to {slots} (or remove it)")

    pairlists = config.get("pairlists", [{"method": "StaticPairList"}])
    methods = [_get(p, "method") for p in pairlists] if isinstance(pairlists, list) else pairlists
    if methods != ["StaticPairList"]:
        bad("pairlists", methods, "use only [{\"method\": \"StaticPairList\"}] so that the whitelist is exactly "
                                  "the portfolio")
    if "stoploss" in config:
        stoploss = _real(config["stoploss"])
        if stoploss is None or stoploss > -0.99:
            bad("stoploss", config["stoploss"], "a per-trade stoploss would sell coins behind the portfolio's back; "
                                                "remove it (the strategy uses -1) and use smart_portfolio.stop_loss")
    if config.get("minimal_roi"):
        bad("minimal_roi", config["minimal_roi"], "per-trade ROI exits break the portfolio; remove it (the strategy "
                                                  "uses {}) and use smart_portfolio.take_profit")
    if config.get("trailing_stop"):
        bad("trailing_stop", config["trailing_stop"], "not allowed for a portfolio; remove it")
    if "position_adjustment_enable" in config and config["position_adjustment_enable"] is not True:
        bad("position_adjustment_enable", config["position_adjustment_enable"],
            "rebalancing needs position adjustment; remove it")
    if config.get("max_entry_position_adjustment", -1) != -1:
        bad("max_entry_position_adjustment", config["max_entry_position_adjustment"],
            "must be -1 (no cap), or rebalancing buys stop")
    order_types = config.get("order_types", {})
    for side in ("entry", "exit"):
        kind = _get(order_types, side, "market")
        if kind != "market":
            bad(f"order_types.{side}", kind, "use 'market' (a rebalance must complete)")
    if config.get("protections"):
        bad("protections", config["protections"], "pair locks would block a rebalance; remove them")
    if config.get("trading_mode", "spot") != "spot":
        bad("trading_mode", config["trading_mode"], "the Smart Portfolio trades spot only")
    if "timeframe" in config and config["timeframe"] not in TIMEFRAMES:
        bad("timeframe", config["timeframe"], f"must be a candle size the exchange serves: {', '.join(TIMEFRAMES)}")
    return problems
