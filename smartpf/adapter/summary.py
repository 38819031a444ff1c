"""The portfolio's own figures for a Freqtrade backtest: ``smartpf-summary.json``.

Freqtrade's per-trade profits mean little for a portfolio (and its end-of-run force exit sells even a
"keep" portfolio), so the strategy values the portfolio at every candle close, as the core
simulator does, and writes the same keys as ``smartpf backtest --json``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from smartpf.report import summary_dict
from smartpf_core import Engine

SUMMARY_FILE = "smartpf-summary.json"


class ValueTracker:
    """Portfolio value at each candle close (last known close for a missing candle), and its drawdown."""

    def __init__(self) -> None:
        self.last_close: dict[str, float] = {}
        self.prev_ts: int | None = None
        self.value: float | None = None
        self.peak = -math.inf
        self.max_dd = 0.0

    def close_candle(self, engine: Engine, closes: dict[str, dict[int, float]], ts: int, final: bool = False) -> None:
        """Called as candle ``ts`` opens (the previous one has closed), or with ``final`` for the last one."""
        if final:
            candle = ts
        else:
            candle, self.prev_ts = self.prev_ts, ts
            if candle is None:
                return
        for pair, series in closes.items():
            close = series.get(candle)
            if close is not None and close == close:
                self.last_close[pair] = close
        if engine.started_at is None:
            value = engine.spec.investment
        else:
            value = engine.cash + sum(q * self.last_close.get(p, 0.0) for p, q in engine.holdings.items() if q)
        self.value = value
        self.peak = max(self.peak, value)
        if self.peak > 0:
            self.max_dd = max(self.max_dd, (self.peak - value) / self.peak)


def write_summary(config: dict[str, Any], engine: Engine, tracker: ValueTracker, first_ts: int, last_ts: int,
                  candles: int) -> Path:
    directory = Path(config.get("exportdirectory") or Path(config["user_data_dir"]) / "backtest_results")
    directory.mkdir(parents=True, exist_ok=True)
    hodl = engine.hodl.value(tracker.last_close) if engine.started_at is not None else engine.spec.investment
    summary = summary_dict(engine, engine.spec, first_ts, last_ts, str(config.get("timeframe")), candles,
                           tracker.value if tracker.value is not None else engine.spec.investment, hodl,
                           tracker.max_dd * 100)
    summary["source"] = "freqtrade backtesting (SmartPortfolio)"
    path = directory / SUMMARY_FILE
    path.write_text(json.dumps(summary, indent=2), encoding="utf-8")
    return path
