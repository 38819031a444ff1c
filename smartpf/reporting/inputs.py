"""What a report is made of, whatever its source: the engine's public results and the candles."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from smartpf_core import PortfolioSpec
from smartpf_core.records import Hodl, OperationRecord


@dataclass
class ReportInput:
    """One portfolio's run. ``summary`` holds the keys of ``smartpf backtest --json`` (the totals);
    ``times`` are candle open times (epoch seconds), ``opens``/``closes`` per pair with NaN for a gap."""

    title: str
    source: str
    spec: PortfolioSpec
    records: list[OperationRecord]
    hodl: Hodl
    summary: dict[str, Any]
    times: np.ndarray
    opens: Mapping[str, np.ndarray]
    closes: Mapping[str, np.ndarray]
    timeframe_seconds: int
    started_at: float | None
    final_cash: float | None = None  # the engine's own cash at the end: a check on the rebuilt series
    notes: list[str] = field(default_factory=list)
