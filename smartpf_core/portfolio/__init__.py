"""One Smart Portfolio, cut along its seams: its states and their tables, the operation under way, the
ledger, the engine that steps them, the sentences it says, the view of it and its saved state."""

from .engine import Engine, Metrics
from .state import STATE_VERSION, migrate_state

__all__ = ["STATE_VERSION", "Engine", "Metrics", "migrate_state"]
