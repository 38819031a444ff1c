"""Every order the bot sends names its portfolio and operation on the exchange itself (the client order id), so
the exchange's history can be read back as the portfolio's, whatever happened to the trade database.

``rb12:sell:ETH/USDT@0123456789ab`` is sent as ``spf0123456789abrb12s``: the letters and digits every exchange
ccxt passes ``clientOrderId`` to accepts (Binance up to 36, OKX up to 32 characters). The same engine order gets
the same client id every time, so an exchange that refuses a client id already open refuses a second send too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

PREFIX = "spf"
_KINDS = {"buy": "b", "sell": "s"}
_ORDER_ID = re.compile(r"^(?P<op>[a-z]+\d+):(?P<side>buy|sell):(?P<pair>[^@]+)@(?P<pid>[0-9a-f]{12})$")
_CLIENT_ID = re.compile(r"^spf(?P<pid>[0-9a-f]{12})(?P<kind>[a-z]+)(?P<seq>\d+)(?P<side>[bs])$")


@dataclass(frozen=True)
class Tagged:
    """An exchange order the bot sent: its portfolio, operation and side, from the client order id."""

    portfolio_id: str
    op_id: str
    seq: int
    side: str

    def order_id(self, pair: str) -> str:
        """The engine order id it carried out (``rb12:sell:ETH/USDT@<portfolio>``)."""
        return f"{self.op_id}:{self.side}:{pair}@{self.portfolio_id}"


def client_order_id(order_id: str) -> str | None:
    """The client order id for an engine order id; None for an id without a portfolio (a backtest's)."""
    match = _ORDER_ID.match(order_id)
    if match is None:
        return None
    return f"{PREFIX}{match['pid']}{match['op']}{_KINDS[match['side']]}"


def parse(client_id: str | None) -> Tagged | None:
    match = _CLIENT_ID.match(client_id or "")
    if match is None:
        return None
    side = "buy" if match["side"] == "b" else "sell"
    return Tagged(match["pid"], f"{match['kind']}{match['seq']}", int(match["seq"]), side)


def client_id_of(order: Mapping[str, Any]) -> str | None:
    """A ccxt order's client order id (``clientOrderId``; Binance's raw ``info`` as a fallback)."""
    info = order.get("info") or {}
    return order.get("clientOrderId") or (info.get("clientOrderId") if isinstance(info, Mapping) else None)


def ours(orders: Iterable[Mapping[str, Any]], portfolio_id: str) -> list[tuple[Mapping[str, Any], Tagged]]:
    """The orders among ``orders`` that this portfolio sent, with what their client ids say."""
    out = []
    for order in orders:
        tagged = parse(client_id_of(order))
        if tagged is not None and tagged.portfolio_id == portfolio_id:
            out.append((order, tagged))
    return out


def highest_seq(orders: Iterable[Mapping[str, Any]], portfolio_id: str) -> int:
    """The highest operation number this portfolio's orders on the exchange carry (0 if none)."""
    return max((t.seq for _, t in ours(orders, portfolio_id)), default=0)
