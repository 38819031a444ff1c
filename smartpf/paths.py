"""Where the real data lives, so commands, tests and the Makefile agree on defaults.

The project is developed with a read-only ``shared/`` folder beside the repository (real Binance
candles and a real exchangeInfo snapshot); ``SMARTPF_SHARED`` overrides its place. A clone without it
uses what ``make data`` fetched into ``user_data/data`` (see tests/support/datasets.py). The Makefile's
DATADIR and MARKETS resolve the same way.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
USER_DATA = REPO_ROOT / "user_data"
SHARED_DIR = Path(os.environ.get("SMARTPF_SHARED") or REPO_ROOT.parent / "shared")
SHARED_DATADIR = SHARED_DIR / "data" / "binance"
SHARED_MARKETS = SHARED_DIR / "markets" / "binance-exchangeInfo-spot-usdt.json"
FETCHED_DATADIR = USER_DATA / "data" / "binance"
FETCHED_MARKETS = USER_DATA / "data" / "binance-exchangeInfo.json"
DEFAULT_DATADIR = SHARED_DATADIR if SHARED_DATADIR.is_dir() else FETCHED_DATADIR
DEFAULT_MARKETS = SHARED_MARKETS if SHARED_MARKETS.is_file() else FETCHED_MARKETS
CCXT_MARKETS_DIRS = (SHARED_DIR / "markets" / "ccxt", REPO_ROOT / "tests" / "data" / "ccxt-markets")


def markets_file(exchange: str) -> Path | None:
    """A markets file for ``exchange`` (Binance: its exchangeInfo; others: a ccxt markets snapshot), if one is here."""
    if exchange == "binance" and DEFAULT_MARKETS.is_file():
        return DEFAULT_MARKETS
    for folder in CCXT_MARKETS_DIRS:
        if (folder / f"{exchange}.json").is_file():
            return folder / f"{exchange}.json"
    return None
