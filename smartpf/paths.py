"""Where the shared real data lives, so commands and tests agree on defaults.

The project is developed with a read-only ``shared/`` folder beside the repository
(real Binance candles and a real exchangeInfo snapshot). ``SMARTPF_SHARED`` overrides it.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DIR = Path(os.environ.get("SMARTPF_SHARED", REPO_ROOT.parent / "shared"))
DEFAULT_DATADIR = SHARED_DIR / "data" / "binance"
DEFAULT_MARKETS = SHARED_DIR / "markets" / "binance-exchangeInfo-spot-usdt.json"
USER_DATA = REPO_ROOT / "user_data"
