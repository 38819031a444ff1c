"""A complete Freqtrade config for a Smart Portfolio: what ``smartpf init`` writes.

The settings that a rebalancer depends on are fixed here and explained in the README: one open
trade per coin, the whole stake usable, market orders priced on the other side of the book.
"""

from __future__ import annotations

import math
from typing import Any


def freqtrade_config(
    section: dict[str, Any],
    stake_currency: str = "USDT",
    timeframe: str = "1m",
    bot_name: str = "smartpf",
    dry_run: bool = True,
) -> dict[str, Any]:
    coins = list(section["assets"])
    pairs = [f"{coin.upper()}/{stake_currency}" for coin in coins]
    return {
        "bot_name": bot_name,
        "strategy": "SmartPortfolio",
        "strategy_path": "strategies/",
        "max_open_trades": len(pairs),
        "stake_currency": stake_currency,
        "stake_amount": "unlimited",
        "tradable_balance_ratio": 1.0,
        "fiat_display_currency": "USD",
        "timeframe": timeframe,
        "dry_run": dry_run,
        "dry_run_wallet": _dry_run_wallet(section["investment"]),
        "fee": 0.001,
        "cancel_open_orders_on_exit": False,
        "initial_state": "running",
        "unfilledtimeout": {"entry": 10, "exit": 10, "exit_timeout_count": 0, "unit": "minutes"},
        "entry_pricing": {"price_side": "other", "use_order_book": False, "price_last_balance": 0.0},
        "exit_pricing": {"price_side": "other", "use_order_book": False},
        "order_types": {
            "entry": "market",
            "exit": "market",
            "emergency_exit": "market",
            "force_entry": "market",
            "force_exit": "market",
            "stoploss": "market",
            "stoploss_on_exchange": False,
        },
        "exchange": {
            "name": "binance",
            "key": "",
            "secret": "",
            "ccxt_config": {},
            "ccxt_async_config": {},
            "pair_whitelist": pairs,
            "pair_blacklist": [],
        },
        "pairlists": [{"method": "StaticPairList"}],
        "telegram": {"enabled": False, "token": "", "chat_id": ""},
        "api_server": {
            "enabled": False,
            "listen_ip_address": "127.0.0.1",
            "listen_port": 8080,
            "verbosity": "error",
            "enable_openapi": False,
            "jwt_secret_key": "change-me-to-a-long-random-secret-string",
            "ws_token": "change-me",
            "CORS_origins": [],
            "username": "freqtrader",
            "password": "change-me",
        },
        "internals": {"process_throttle_secs": 5},
        "smart_portfolio": section,
    }


def _dry_run_wallet(investment: Any) -> int:
    """10 % above the investment (at least 1000); an investment out of bounds is refused by check_config."""
    try:
        wallet = float(investment) * 1.1
    except (TypeError, ValueError, OverflowError):
        return 1000
    return max(1000, round(wallet)) if math.isfinite(wallet) else 1000
