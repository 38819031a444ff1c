"""A complete Freqtrade config for a Smart Portfolio: what ``smartpf init`` writes.

The settings that a rebalancer depends on are fixed here and explained in the README: one open
trade per coin, the whole stake usable, market orders priced on the other side of the book, the REST
API on 127.0.0.1 (the steering commands use it), and no fiat display (Freqtrade's fiat converter asks
CoinGecko at every start, an error offline and nothing a portfolio needs).
"""

from __future__ import annotations

import math
import secrets
from typing import Any

API_PORT = 8080


def api_server(port: int = API_PORT) -> dict[str, Any]:
    """Freqtrade's REST API on 127.0.0.1 only, with credentials made for this config: ``smartpf add``,
    ``withdraw``, ``set`` and ``terminate`` reach the running bot through it."""
    return {
        "enabled": True,
        "listen_ip_address": "127.0.0.1",
        "listen_port": port,
        "verbosity": "error",
        "enable_openapi": False,
        "jwt_secret_key": secrets.token_hex(32),
        "ws_token": secrets.token_urlsafe(24),
        "CORS_origins": [],
        "username": "smartpf",
        "password": secrets.token_urlsafe(24),
    }


# Exchange quirks a working config needs (README "Exchanges"): XT's ticker has no bid/ask, so Freqtrade must
# price from the order book there.
ORDER_BOOK_PRICING = frozenset({"xt"})


def freqtrade_config(
    section: dict[str, Any],
    stake_currency: str = "USDT",
    timeframe: str = "1m",
    bot_name: str = "smartpf",
    dry_run: bool = True,
    exchange: str = "binance",
    api: dict[str, Any] | None = None,
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
        "timeframe": timeframe,
        "dry_run": dry_run,
        "dry_run_wallet": _dry_run_wallet(section["investment"]),
        "fee": 0.001,
        "cancel_open_orders_on_exit": False,
        "initial_state": "running",
        "unfilledtimeout": {"entry": 10, "exit": 10, "exit_timeout_count": 0, "unit": "minutes"},
        "entry_pricing": {"price_side": "other", "use_order_book": exchange in ORDER_BOOK_PRICING,
                          "order_book_top": 1, "price_last_balance": 0.0},
        "exit_pricing": {"price_side": "other", "use_order_book": exchange in ORDER_BOOK_PRICING, "order_book_top": 1},
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
            "name": exchange,
            "key": "",
            "secret": "",
            "ccxt_config": {},
            "ccxt_async_config": {},
            "pair_whitelist": pairs,
            "pair_blacklist": [],
        },
        "pairlists": [{"method": "StaticPairList"}],
        "telegram": {"enabled": False, "token": "", "chat_id": ""},
        "api_server": api if api is not None else api_server(),
        "internals": {"process_throttle_secs": 5},
        "smart_portfolio": section,
    }


def _dry_run_wallet(investment: Any) -> int:
    """Twice the investment (at least 2000): room for the deposits a dry-run rehearses (``smartpf add``).
    An investment out of bounds is refused by check_config."""
    try:
        wallet = float(investment) * 2
    except (TypeError, ValueError, OverflowError):
        return 2000
    return max(2000, round(wallet)) if math.isfinite(wallet) else 2000
