"""The portfolio's own figures for a Freqtrade backtest: ``smartpf-summary.json``.

Freqtrade's per-trade profits mean little for a portfolio (and its end-of-run force exit sells even a
"keep" portfolio), so the strategy values the portfolio at every candle close, as the core
simulator does, and writes the same keys as ``smartpf backtest --json``, plus ``engine``: the portfolio's
state with its records (``Engine.to_dict()``), from which ``smartpf report --freqtrade-result`` draws.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from smartpf.backtest.report import summary_dict
from smartpf_core import Engine
from smartpf_core.metrics import ValueTracker

SUMMARY_FILE = "smartpf-summary.json"


class CandleCloses:
    """Feeds the core's ValueTracker as Freqtrade's backtest loop moves: each bot_loop_start opens a
    candle, so the one before it has closed; the last candle is closed explicitly at the end."""

    def __init__(self, closes: dict[str, dict[int, float]]) -> None:
        self.closes = closes
        self.tracker = ValueTracker()
        self.prev_ts: int | None = None

    def candle_opened(self, engine: Engine, ts: int) -> None:
        candle, self.prev_ts = self.prev_ts, ts
        if candle is not None:
            self.close(engine, candle)

    def close(self, engine: Engine, candle: int) -> None:
        self.tracker.observe(engine, {p: s[candle] for p, s in self.closes.items() if candle in s})


def write_summary(config: dict[str, Any], engine: Engine, tracker: ValueTracker, first_ts: int, last_ts: int,
                  candles: int) -> Path:
    directory = Path(config.get("exportdirectory") or Path(config["user_data_dir"]) / "backtest_results")
    directory.mkdir(parents=True, exist_ok=True)
    hodl = tracker.hodl_value(engine)
    summary = summary_dict(engine, engine.spec, first_ts, last_ts, str(config.get("timeframe")), candles,
                           tracker.value if tracker.value is not None else engine.spec.investment, hodl,
                           tracker.max_drawdown * 100)
    summary["source"] = "freqtrade backtesting (SmartPortfolio)"
    summary["engine"] = engine.to_dict()
    path = directory / SUMMARY_FILE
    path.write_text(json.dumps(summary, indent=2), encoding="utf-8")
    return path
