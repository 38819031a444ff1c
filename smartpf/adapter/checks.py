"""Freqtrade settings that would break a portfolio, checked before the bot trades.

Config values silently override strategy attributes in Freqtrade, so the effective values are
checked here and a conflicting one is refused with a message naming the setting.
"""

from __future__ import annotations

from typing import Any

from smartpf_core import PortfolioSpec


def check_freqtrade_config(config: dict[str, Any], spec: PortfolioSpec) -> list[str]:
    """Problems with the Freqtrade side of the config for this portfolio (empty when fine)."""
    problems: list[str] = []
    pairs = set(spec.pairs)
    whitelist = config.get("exchange", {}).get("pair_whitelist", [])
    if set(whitelist) != pairs:
        extra = sorted(set(whitelist) - pairs)
        missing = sorted(pairs - set(whitelist))
        detail = "; ".join(filter(None, [f"not in assets: {', '.join(extra)}" if extra else "",
                                         f"missing: {', '.join(missing)}" if missing else ""]))
        problems.append(f"exchange.pair_whitelist = {sorted(whitelist)}: must be exactly the assets' pairs "
                        f"{sorted(pairs)} ({detail})")
    pairlists = [p.get("method") for p in config.get("pairlists", [{"method": "StaticPairList"}])]
    if pairlists != ["StaticPairList"]:
        problems.append(f"pairlists = {pairlists}: use only [{{\"method\": \"StaticPairList\"}}] so that the "
                        "whitelist is exactly the portfolio")
    stake = config.get("stake_currency")
    if stake is not None and str(stake).upper() != spec.stake_currency:
        problems.append(f"stake_currency = {stake!r}: does not match the portfolio's {spec.stake_currency}")
    mot = config.get("max_open_trades")
    if mot is not None and mot != -1 and mot != float("inf") and mot < len(pairs):
        problems.append(f"max_open_trades = {mot}: the portfolio holds {len(pairs)} coins, one open trade each; "
                        f"set it to {len(pairs)} (or remove it)")
    if "stoploss" in config and config["stoploss"] > -0.99:
        problems.append(f"stoploss = {config['stoploss']}: a per-trade stoploss would sell coins behind the "
                        "portfolio's back; remove it (the strategy uses -1) and use smart_portfolio.stop_loss")
    if config.get("minimal_roi"):
        problems.append(f"minimal_roi = {config['minimal_roi']}: per-trade ROI exits break the portfolio; "
                        "remove it (the strategy uses {}) and use smart_portfolio.take_profit")
    if config.get("trailing_stop"):
        problems.append("trailing_stop = true: not allowed for a portfolio; remove it")
    if config.get("position_adjustment_enable") is False:
        problems.append("position_adjustment_enable = false: rebalancing needs position adjustment; remove it")
    if config.get("max_entry_position_adjustment", -1) != -1:
        problems.append(f"max_entry_position_adjustment = {config['max_entry_position_adjustment']}: "
                        "must be -1 (no cap), or rebalancing buys stop")
    order_types = config.get("order_types", {})
    for side in ("entry", "exit"):
        kind = order_types.get(side, "market")
        if kind != "market":
            problems.append(f"order_types.{side} = {kind!r}: use 'market' (a rebalance must complete)")
    if config.get("protections"):
        problems.append("protections: pair locks would block a rebalance; remove them")
    if config.get("trading_mode", "spot") != "spot":
        problems.append(f"trading_mode = {config['trading_mode']!r}: the Smart Portfolio trades spot only")
    return problems
