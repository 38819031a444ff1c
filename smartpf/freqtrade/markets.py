"""Exchange rules as Freqtrade loaded them (ccxt market dicts) -> the core's MarketRules.

The reading itself lives in ``smartpf.markets`` (one reader for files, the replay exchange and
this adapter); this module keeps the name the strategy imports.
"""

from __future__ import annotations

from smartpf.markets import DECIMAL_PLACES, TICK_SIZE, rules_from_ccxt_market

__all__ = ["DECIMAL_PLACES", "TICK_SIZE", "rules_from_ccxt_market"]
