"""Kept so that callers written before issue 9 keep working (e.g. a command that edits a config).

The rules are in ``smartpf_core.config_check``; new code calls ``smartpf_core.check_config``, which also
validates the ``smart_portfolio`` section. This only formats the Freqtrade-level problems as lines.
"""

from __future__ import annotations

from typing import Any

from smartpf_core import PortfolioSpec
from smartpf_core.config_check import freqtrade_problems


def check_freqtrade_config(config: dict[str, Any], spec: PortfolioSpec) -> list[str]:
    """The Freqtrade-level problems of ``config`` for ``spec`` (empty when fine), one line each."""
    return [str(p) for p in freqtrade_problems(config, spec.pairs)]
