"""SmartPortfolio with the tests' crash point installed (``SMARTPF_CRASH_POINT``): the production strategy
never calls it. Loaded by Freqtrade from this folder (``strategy_path``) in the kill -9 tests."""

from __future__ import annotations

import importlib.util
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT))  # tests.support.crash

_spec = importlib.util.spec_from_file_location("smartpf_strategy_under_test", ROOT / "strategies" / "SmartPortfolio.py")
_module = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_module)

from tests.support.crash import maybe_crash  # noqa: E402


class CrashingSmartPortfolio(_module.SmartPortfolio):
    def bot_loop_start(self, current_time: datetime, **kwargs: Any) -> None:
        if self.bot.engine is not None and not self.bot.backtesting:
            maybe_crash(self.bot.engine)
        super().bot_loop_start(current_time, **kwargs)
