"""Exchange protocols in front of the simulator (``smartpf.replay.exchange``): each translates one
exchange's REST requests and answers and decides nothing. ``front.Front`` is what the server asks of each
(``binance``, ``okx``, ``xt``); ``signed.SignedFront`` what it asks of their signed APIs (``--accounts``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from smartpf.replay.exchange.market import Market
    from smartpf.replay.protocols.front import Front


def default_front(market: Market) -> Front:
    """The front of the default ``--protocol`` (Binance's public API)."""
    from smartpf.replay.protocols.binance import BinancePublic

    return BinancePublic(market)


def account_json(orders: list, trades: list) -> tuple[list[dict], list[dict]]:
    """The operator's view of orders and trades (``GET /_smartpf/account``), in the default protocol's shape
    (what the tests and docs/replay.md read)."""
    from smartpf.replay.protocols.binance import order_json, trade_json

    return [order_json(o) for o in orders], [trade_json(t) for t in trades]
