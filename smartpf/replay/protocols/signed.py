"""What the HTTP server needs from a signed (account) front end: Binance's ``BinanceSpot``, OKX's
``OkxSpot`` or XT's ``XtSpot``, each translating its exchange's private API onto the one
:class:`~smartpf.replay.exchange.simulator.ExchangeSimulator` (accounts, matching, ledger)."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Protocol

from smartpf.replay.exchange.simulator import ExchangeSimulator


class SignedFront(Protocol):
    sim: ExchangeSimulator

    def is_private(self, path: str) -> bool:
        """A path of the signed API (answered by ``handle``, never by the public front)."""

    def is_placement(self, method: str, path: str) -> bool:
        """The request that places an order (where the order faults strike)."""

    def handle(self, method: str, path: str, query: str, body: str, headers: Mapping[str, str],
               now: int) -> tuple[int, object]:
        """(HTTP status, JSON-able body); LookupError for a path it does not serve."""


def log_rejection(protocol: str, symbol: str, side: str, order_type: str, amount: object, code: object,
                  msg: str) -> None:
    sys.stderr.write(f"smartpf replay: order rejected ({protocol}) {symbol} {side} {order_type} qty={amount}: "
                     f"{code} {msg}\n")
