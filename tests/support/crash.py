"""A crash point that end-to-end tests arm (``SMARTPF_CRASH_POINT``), to kill the bot with SIGKILL at the
worst moment of a rebalance and prove that a restart neither repeats nor forgets an order. Installed only
by the tests' strategy subclass (``strategies/CrashingSmartPortfolio.py`` here), never by SmartPortfolio."""

from __future__ import annotations

import logging
import os
import signal

from smartpf_core import Engine

logger = logging.getLogger(__name__)
AFTER_SELLS = "after_sells"  # the sells of a rebalance filled, the buys not yet placed, state not yet saved


def maybe_crash(engine: Engine) -> None:
    point = os.environ.get("SMARTPF_CRASH_POINT")
    if point != AFTER_SELLS:
        return
    op = engine.op
    if op is not None and op.kind == "rebalance" and op.phase == "sell" and op.orders and not op.outstanding():
        logger.warning("smartpf: SMARTPF_CRASH_POINT=%s reached: killing the bot with SIGKILL (test hook)", point)
        os.kill(os.getpid(), signal.SIGKILL)
