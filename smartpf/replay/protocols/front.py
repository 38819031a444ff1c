"""What the HTTP server needs from an exchange front end, so that ``server.py`` and ``faults.py`` name no venue.

A front (``binance.BinancePublic``, ``okx.OkxPublic``, ``xt.XtPublic``) answers its exchange's public REST paths
from the one :class:`~smartpf.replay.exchange.market.Market`, says which paths belong to its signed API, and
words every error in its exchange's shape. The signed API itself, with ``--accounts``, is a
:class:`~smartpf.replay.protocols.signed.SignedFront` over the one exchange simulator.

The plumbing speaks of an error by a neutral kind (below); a venue's own error (a ``VenueError`` raised by its
front) carries the venue's code, which ``error_body`` passes through.
"""

from __future__ import annotations

from typing import Protocol

# The errors the plumbing and the faults can answer, in no venue's words: each front maps them to its codes.
MALFORMED = "malformed"        # a request the server cannot read (bad framing, a huge body)
UNAUTHORIZED = "unauthorized"  # a signed path without an account behind it, an admin call without its token
UNKNOWN = "unknown"            # the server failed on the request (a bug, logged on stderr)
INTERNAL = "internal"          # an injected 500
OVERLOADED = "overloaded"      # an injected 503, and the outage
RATE_LIMIT = "rate_limit"      # an injected 429
TIMESTAMP = "timestamp"        # a signed request outside the receive window (an order fault)
KINDS = (MALFORMED, UNAUTHORIZED, UNKNOWN, INTERNAL, OVERLOADED, RATE_LIMIT, TIMESTAMP)


class Front(Protocol):
    """An exchange's public REST API in front of the market (``--protocol``)."""

    name: str

    def route(self, method: str, path: str, q: dict[str, str], now: int) -> tuple[int, object] | None:
        """(HTTP status, JSON-able body or bytes already encoded) for a path it serves, None for an unknown
        one (a loud 404)."""

    def is_private(self, path: str) -> bool:
        """A path of the exchange's signed API: without ``--accounts`` it is refused as unauthorised."""

    def error_body(self, status: int, code: object, msg: str) -> dict:
        """An error in the exchange's shape: ``code`` is one of ``KINDS`` or the venue's own code."""
