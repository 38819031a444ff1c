"""The three sources of a report, each reduced to a ``ReportInput`` from the engine's public results:
its state dict (settings, records, HODL shadow), the run's summary figures, and the candles."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from smartpf.backtest.candles import CandleError, Candles, Timerange, load_candles
from smartpf.backtest.report import iso
from smartpf.errors import SmartpfError
from smartpf_core import PortfolioSpec, parse_interval
from smartpf_core.records import Hodl, OperationRecord

from .inputs import ReportInput


class SourceError(SmartpfError):
    """A source that cannot be read: one message naming the option and the value."""


def from_state(state: Mapping[str, Any], summary: dict[str, Any], candles: Candles, timeframe: str, title: str,
               source: str) -> ReportInput:
    """A report from an engine's state dict (``Engine.to_dict()``), its summary and the candles."""
    try:
        spec = PortfolioSpec.from_dict(state["spec"])
        records = [OperationRecord.from_dict(r) for r in state.get("records") or []]
        hodl = Hodl.from_dict(state.get("hodl") or {})
        started_at = state.get("started_at")
        cash = state.get("cash")
    except (KeyError, TypeError, ValueError) as exc:
        raise SourceError(f"the portfolio's state cannot be read ({type(exc).__name__}: {exc})") from exc
    _check_trades(records)
    try:
        seconds = parse_interval(timeframe)
    except ValueError as exc:
        raise SourceError(f"timeframe {timeframe!r}: {exc}") from exc
    pairs = _pairs(spec, records, hodl, candles)
    return ReportInput(title=title, source=source, spec=spec, records=records, hodl=hodl, summary=summary,
                       times=candles.times, opens={p: candles.opens[p] for p in pairs},
                       closes={p: candles.closes[p] for p in pairs}, timeframe_seconds=seconds,
                       started_at=None if started_at is None else float(started_at),
                       final_cash=None if cash is None else float(cash))


def _check_trades(records: list[OperationRecord]) -> None:
    """Every fill a number where a number belongs: the records come from a file or a database."""
    for record in records:
        for t in record.trades:
            numbers = (t.time, t.amount, t.price, t.fee)
            if t.side not in ("buy", "sell") or not all(isinstance(v, int | float) and math.isfinite(v)
                                                        for v in numbers) or t.amount < 0 or t.price <= 0:
                raise SourceError(f"operation {record.id}: a trade that cannot be charted (side {t.side!r}, "
                                  f"amount {t.amount!r}, price {t.price!r}, fee {t.fee!r}, time {t.time!r})")


def _pairs(spec: PortfolioSpec, records: list[OperationRecord], hodl: Hodl, candles: Candles) -> list[str]:
    wanted = list(dict.fromkeys([*spec.pairs, *(t.pair for r in records for t in r.trades), *hodl.holdings]))
    missing = [p for p in wanted if p not in candles.closes]
    if missing:
        raise SourceError(f"no candles for {', '.join(missing)}")
    return wanted


def state_pairs(state: Mapping[str, Any]) -> list[str]:
    """Every pair the state's settings, records or HODL shadow hold (their candles are needed)."""
    spec = PortfolioSpec.from_dict(state["spec"])
    traded = [t["pair"] for r in state.get("records") or [] for t in r.get("trades", [])]
    return list(dict.fromkeys([*spec.pairs, *traded, *(state.get("hodl") or {}).get("holdings", {})]))


def read_freqtrade_result(path: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """``smartpf-summary.json`` of a Freqtrade backtest of SmartPortfolio (or its folder): (summary, state)."""
    from ..freqtrade.summary import SUMMARY_FILE

    file = Path(path)
    if file.is_dir():
        file = file / SUMMARY_FILE
    if file.suffix == ".zip":
        raise SourceError(f"--freqtrade-result {path}: that is Freqtrade's own result (its trades); give the "
                          f"{SUMMARY_FILE} SmartPortfolio wrote beside it, in the same export directory")
    try:
        summary = json.loads(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SourceError(f"--freqtrade-result {path}: cannot read it ({exc.strerror or exc}); give the "
                          f"{SUMMARY_FILE} a backtest wrote (smartpf ft-backtest --export-dir DIR)") from exc
    except ValueError as exc:
        raise SourceError(f"--freqtrade-result {path}: not JSON ({exc})") from exc
    if isinstance(summary, dict) and "strategy" in summary and "engine" not in summary:
        raise SourceError(f"--freqtrade-result {path}: that is Freqtrade's own result (its trades); give the "
                          f"{SUMMARY_FILE} SmartPortfolio wrote beside it, in the same export directory")
    if not isinstance(summary, dict) or not isinstance(summary.get("engine"), dict):
        raise SourceError(f"--freqtrade-result {file}: no portfolio state in it (key 'engine'); it must be the "
                          f"{SUMMARY_FILE} of a backtest by this version of SmartPortfolio")
    missing = [k for k in ("start", "end", "timeframe", "final_value", "hodl_value", "rebalances", "orders",
                           "fees", "turnover") if k not in summary]
    if missing:
        raise SourceError(f"--freqtrade-result {file}: the summary lacks {', '.join(missing)}")
    return summary, summary.pop("engine")


def _epoch(text: str, what: str) -> float:
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()
    except (TypeError, ValueError) as exc:
        raise SourceError(f"{what} {text!r}: not a time such as 2024-01-01T00:00:00Z") from exc


def period_candles(datadir: str, pairs: list[str], timeframe: str, start: float, end: float | None) -> Candles:
    """The candles from ``start`` to ``end`` (both included; ``None``: to the last one)."""
    window = Timerange(datetime.fromtimestamp(start, UTC), None if end is None else datetime.fromtimestamp(end, UTC))
    try:
        candles = load_candles(datadir, pairs, timeframe, window)
    except CandleError as exc:
        raise SourceError(f"--datadir {datadir}: {exc}") from exc
    if len(candles) < 1:
        raise SourceError(f"--datadir {datadir}: no {timeframe} candles from {iso(start)}")
    return candles


def freqtrade_input(path: str, datadir: str) -> ReportInput:
    summary, state = read_freqtrade_result(path)
    start, end = _epoch(summary["start"], "start"), _epoch(summary["end"], "end")
    try:
        pairs = state_pairs(state)
    except (KeyError, TypeError, ValueError) as exc:
        raise SourceError(f"--freqtrade-result {path}: the portfolio's state cannot be read ({exc})") from exc
    candles = period_candles(datadir, pairs, str(summary["timeframe"]), start, end)
    title = "Smart Portfolio — Freqtrade backtest"
    return from_state(state, summary, candles, str(summary["timeframe"]), title,
                      "freqtrade backtesting (SmartPortfolio)")


def bot_input(state: dict[str, Any], metrics: dict[str, Any], view: dict[str, Any] | None, datadir: str,
              timeframe: str, portfolio_id: str, url: str) -> ReportInput:
    """A running or stopped bot: its saved state, its last prices (the view) and the candles in ``datadir``
    from the portfolio's start to the bot's last loop (the bot keeps no price history of its own:
    ``smartpf fetch-data`` brings the candles up to date)."""
    started = state.get("started_at")
    if started is None:
        raise SourceError(f"portfolio {portfolio_id} in {url} has not bought its basket yet: nothing to chart")
    seconds = parse_interval(timeframe)
    last_loop = float(view["prices_at"]) if view and view.get("prices_at") else None
    candles = period_candles(datadir, state_pairs(state), timeframe, float(started) - seconds, last_loop)
    invested = float(state["invested"])
    summary: dict[str, Any] = {"start": iso(float(candles.times[0])), "invested": invested, **metrics,
                               "max_drawdown_pct": None}
    report = from_state(state, summary, candles, timeframe, f"Smart Portfolio — bot {portfolio_id}",
                        f"trade database {url}")
    from .series import rebuild

    series = rebuild(report)
    value, hodl = float(series.value[-1]), float(series.hodl[-1])
    end = float(series.times[-1])
    if view is not None and last_loop is not None and last_loop > end:
        value, hodl = float(view["value"]), float(view["hodl_value"])
        report.notes.append(f"The charts run to the last {timeframe} candle in {datadir} ({iso(end)}); the totals "
                            f"are at the bot's last prices ({iso(last_loop)}). Bring the candles up to date with "
                            "smartpf fetch-data.")
        end = last_loop
    summary.update({"end": iso(end), "final_value": value, "hodl_value": hodl})
    return report
