"""Every order the bot sends names its portfolio and operation on the exchange itself (the client order id), so
the exchange's history can be read back as the portfolio's, whatever happened to the trade database.

``rb12:sell:ETH/USDT@0123456789ab`` is sent as ``spf0123456789abrb12s`` followed by four letters or digits of
the pair (a hash of it): the letters and digits every exchange ccxt passes ``clientOrderId`` to accepts (Binance up
to 36, OKX up to 32 characters). The same engine order gets the same client id every time, so an exchange that
refuses a client id already open refuses a second send too; two orders of one operation (every coin of a basket
bought at once) get different ones, or the exchange would refuse the second while the first is still filling.
Ids without the pair's part (sent before it was added) are still read as the portfolio's.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

PREFIX = "spf"
_KINDS = {"buy": "b", "sell": "s"}
_ORDER_ID = re.compile(r"^(?P<op>[a-z]+\d+):(?P<side>buy|sell):(?P<pair>[^@]+)@(?P<pid>[0-9a-f]{12})$")
_CLIENT_ID = re.compile(r"^spf(?P<pid>[0-9a-f]{12})(?P<kind>[a-z]+)(?P<seq>\d+)(?P<side>[bs])(?P<pair>[0-9a-z]{4})?$")
_BASE36 = "0123456789abcdefghijklmnopqrstuvwxyz"


def pair_part(pair: str) -> str:
    """Four letters or digits for ``pair``: a hash (36**4 values), the same on every run and machine."""
    n = int.from_bytes(hashlib.sha256(pair.encode()).digest()[:8], "big")
    out = ""
    for _ in range(4):
        n, digit = divmod(n, 36)
        out += _BASE36[digit]
    return out


@dataclass(frozen=True)
class Tagged:
    """An exchange order the bot sent: its portfolio, operation and side, from the client order id."""

    portfolio_id: str
    op_id: str
    seq: int
    side: str
    pair_part: str | None = None  # None: an id sent before the pair was part of it

    def names(self, pair: str) -> bool:
        """Could this id have been sent for an order on ``pair``?"""
        return self.pair_part is None or self.pair_part == pair_part(pair)

    def order_id(self, pair: str) -> str:
        """The engine order id it carried out (``rb12:sell:ETH/USDT@<portfolio>``)."""
        return f"{self.op_id}:{self.side}:{pair}@{self.portfolio_id}"


def client_order_id(order_id: str) -> str | None:
    """The client order id for an engine order id; None for an id without a portfolio (a backtest's)."""
    match = _ORDER_ID.match(order_id)
    if match is None:
        return None
    return f"{PREFIX}{match['pid']}{match['op']}{_KINDS[match['side']]}{pair_part(match['pair'])}"


def parse(client_id: str | None) -> Tagged | None:
    match = _CLIENT_ID.match(client_id or "")
    if match is None:
        return None
    side = "buy" if match["side"] == "b" else "sell"
    return Tagged(match["pid"], f"{match['kind']}{match['seq']}", int(match["seq"]), side, match["pair"])


def client_id_of(order: Mapping[str, Any]) -> str | None:
    """A ccxt order's client order id (``clientOrderId``; Binance's raw ``info`` as a fallback)."""
    info = order.get("info") or {}
    return order.get("clientOrderId") or (info.get("clientOrderId") if isinstance(info, Mapping) else None)


def ours(orders: Iterable[Mapping[str, Any]], portfolio_id: str) -> list[tuple[Mapping[str, Any], Tagged]]:
    """The orders among ``orders`` that this portfolio sent, with what their client ids say."""
    out = []
    for order in orders:
        tagged = parse(client_id_of(order))
        if tagged is not None and tagged.portfolio_id == portfolio_id and tagged.names(str(order.get("symbol"))):
            out.append((order, tagged))
    return out


def highest_seq(orders: Iterable[Mapping[str, Any]], portfolio_id: str) -> int:
    """The highest operation number this portfolio's orders on the exchange carry (0 if none)."""
    return max((t.seq for _, t in ours(orders, portfolio_id)), default=0)
