"""The engine's old module path: everything now lives in ``smartpf_core.portfolio``; re-exported here."""

from .portfolio.engine import Engine, Metrics
from .portfolio.operation import FAILED, FILLED, OPEN, PLANNED, _Operation, _OrderState
from .portfolio.state import _MIGRATIONS, STATE_VERSION, _v1_to_v2, migrate_state

__all__ = ["FAILED", "FILLED", "OPEN", "PLANNED", "STATE_VERSION", "Engine", "Metrics", "_MIGRATIONS",
           "_Operation", "_OrderState", "_v1_to_v2", "migrate_state"]
