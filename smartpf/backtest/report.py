"""Human-readable and JSON reports of a core backtest."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from typing import Any

from smartpf_core import Engine, PortfolioSpec, SimResult
from smartpf_core.portfolio import profit_pct
from smartpf_core.records import RECORD_COLUMNS, trade_rows


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def backtest_summary(result: SimResult, spec: PortfolioSpec, timeframe: str) -> dict[str, Any]:
    """The JSON summary of ``smartpf backtest --json``."""
    return summary_dict(result.engine, spec, result.start, result.end, timeframe, result.ticks,
                        result.final_value, result.hodl_value, result.max_drawdown_pct)


def summary_dict(engine: Engine, spec: PortfolioSpec, start: float, end: float, timeframe: str, candles: int,
                 final_value: float, hodl_value: float, max_drawdown_pct: float) -> dict[str, Any]:
    """The summary keys, shared by the core backtest and ``smartpf-summary.json`` of a Freqtrade backtest."""
    invested = engine.invested
    metrics = engine.metrics()
    return {
        "start": iso(start),
        "end": iso(end),
        "timeframe": timeframe,
        "candles": candles,
        "pairs": list(spec.pairs),
        "stake_currency": spec.stake_currency,
        "mode": spec.mode,
        "threshold": spec.threshold,
        "threshold_type": spec.threshold_type,
        "interval": spec.interval if spec.mode == "scheduled" else None,
        "fee": spec.fee,
        "invested": invested,
        "final_value": final_value,
        "hodl_value": hodl_value,
        "profit_pct": profit_pct(final_value, invested),
        "hodl_profit_pct": profit_pct(hodl_value, invested),
        "rebalances": metrics.rebalances,
        "orders": metrics.orders,
        "fees": metrics.fees,
        "turnover": metrics.turnover,
        "max_drawdown_pct": max_drawdown_pct,
        "first_purchase": iso(engine.started_at) if engine.started_at is not None else None,
        "status": engine.status,
        "termination": engine.termination,
        # the basket's coins without a price for over a check interval at the end, since their last price
        "stale": [{"pair": pair, "since": iso(since)} for pair, since in engine.stale.items()],
    }


def format_summary(summary: dict[str, Any], spec: PortfolioSpec) -> str:
    cur = summary["stake_currency"]
    if spec.mode == "proportional":
        rule = f"proportional, threshold {spec.describe_threshold()}"
    else:
        rule = f"scheduled, every {spec.to_dict()['interval']}"
    lines = [
        "Smart Portfolio backtest (smartpf core simulator)",
        f"  period        {summary['start']} -> {summary['end']}"
        f"  ({summary['candles']} candles of {summary['timeframe']})",
        "  portfolio     " + ", ".join(f"{c} {p:g} %" for c, p in spec.allocations),
        f"  rebalancing   {rule}",
        f"  invested      {summary['invested']:,.2f} {cur}   fee {summary['fee'] * 100:g} % per side",
        "",
        f"  final value   {summary['final_value']:,.2f} {cur}   profit {summary['profit_pct']:+.2f} %",
        f"  HODL value    {summary['hodl_value']:,.2f} {cur}   profit {summary['hodl_profit_pct']:+.2f} %"
        "   (the same basket, never rebalanced)",
        f"  vs HODL       {summary['profit_pct'] - summary['hodl_profit_pct']:+.2f} percentage points",
        f"  rebalances    {summary['rebalances']}   orders {summary['orders']} (initial purchase included)",
        f"  fees          {summary['fees']:,.2f} {cur}   turnover {summary['turnover']:,.2f} {cur}",
        f"  max drawdown  {summary['max_drawdown_pct']:.2f} %",
    ]
    if summary.get("termination"):
        info = summary["termination"]
        lines.append(f"  terminated    {info.get('why')} ({info.get('how')})")
    for coin in summary.get("stale", []):
        lines.append(f"  stale         {coin['pair']} has had no price since {coin['since']}: no trade since then")
    lines.append("  Values at the close of the last candle, before any exit fee.")
    return "\n".join(lines)


def write_records(path: str, engine: Engine) -> int:
    """``--records FILE``: one CSV row per filled order (ISO-8601 UTC times). Returns the row count."""
    rows = trade_rows(engine.records)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=RECORD_COLUMNS, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({**row, "time": iso_precise(row["time"]), "fee": tidy(row["fee"])})
    return len(rows)


def tidy(value: Any) -> Any:
    """A float without its arithmetic tail (0.4991695470000001 -> 0.499169547): 10 significant digits, far
    finer than any exchange's step or tick; anything else, and lists and dicts of it, recursively."""
    if isinstance(value, float):
        return float(f"{value:.10g}")
    if isinstance(value, dict):
        return {k: tidy(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [tidy(v) for v in value]
    return value


def iso_precise(ts: float) -> str:
    """ISO-8601 UTC, with milliseconds only when the time has them."""
    moment = datetime.fromtimestamp(ts, tz=UTC)
    if moment.microsecond:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
