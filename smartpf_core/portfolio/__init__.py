"""One Smart Portfolio, cut along its seams: its states and their tables (``states``), the operation under
way (``operation``), the books (``ledger``), the rules that act on a tick (``progress``, ``rebalance``,
``funding``, ``exits``), the engine a host drives (``engine``), the sentences it says (``messages``), the view
of it (``view``) and its saved state (``state``)."""

from .engine import AtRest, Engine
from .ledger import Ledger, Metrics
from .state import STATE_VERSION, migrate_state
from .states import IllegalTransition
from .view import CoinView, PortfolioView, profit_pct

__all__ = ["STATE_VERSION", "AtRest", "CoinView", "Engine", "IllegalTransition", "Ledger", "Metrics",
           "PortfolioView", "migrate_state", "profit_pct"]
