"""The engine's old module path: everything now lives in ``smartpf_core.portfolio``; re-exported here."""

from .portfolio.engine import Engine
from .portfolio.ledger import Metrics
from .portfolio.messages import duration as _duration
from .portfolio.messages import short_reason as _short_reason
from .portfolio.messages import skipped_dict as _skipped_dict
from .portfolio.operation import FAILED, FILLED, OPEN, PLANNED, _Operation, _OrderState
from .portfolio.state import _MIGRATIONS, STATE_VERSION, _v1_to_v2, migrate_state

__all__ = ["FAILED", "FILLED", "OPEN", "PLANNED", "STATE_VERSION", "Engine", "Metrics", "_MIGRATIONS",
           "_Operation", "_OrderState", "_duration", "_short_reason", "_skipped_dict", "_v1_to_v2", "migrate_state"]
