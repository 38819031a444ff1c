"""``smartpf whatif``: a running portfolio's own life replayed under other settings.

The portfolio in the trade database knows when it started, how much it holds and, in its records, when
money went in or out (``deposit`` and ``withdraw`` operations). This replays that life on the candles in
``--datadir``: the same engine from the portfolio's first purchase to the last candle, the investment
raised or lowered at the times the real one was, once with the portfolio's own setting (how close a
backtest comes to what really happened) and once per other setting; beside them, what it really made.

The initial investment is what the ledger implies: ``invested − deposits + withdrawn``. A withdrawal the
idle cash covered leaves no record, so its time is unknown: the replay takes it at the end and says so.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import re
import sys
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np

from smartpf import paths
from smartpf.backtest.candles import CandleError, Candles, Timerange, load_candles
from smartpf.research.sweep import (
    DEFAULT_INTERVALS,
    DEFAULT_THRESHOLDS,
    Setting,
    SweepError,
    parse_intervals,
    parse_threshold_types,
    parse_thresholds,
    settings_grid,
)
from smartpf_core import Engine, Fill, MarketRules, PortfolioSpec, Snapshot, format_interval

_AMOUNT = re.compile(r"investment (raised|lowered) by ([0-9.eE+-]+)")


@dataclasses.dataclass(frozen=True)
class Life:
    """What the records say about the money: the start, the first investment, and each change after it."""

    start: float
    initial: float
    changes: tuple[tuple[float, float], ...]  # (time, signed amount asked)
    unrecorded_withdrawal: float
    targets_changed: tuple[float, ...]


def life_of(engine: Engine) -> Life:
    if engine.started_at is None:
        raise SweepError("the portfolio has not bought its basket yet: there is no life to replay")
    changes = []
    targets = []
    for record in engine.records:
        if record.kind in ("deposit", "withdraw") and record.trigger != "recurring":  # (the spec makes those)
            match = _AMOUNT.search(record.reason)
            amount = float(match.group(2)) if match else math.nan
            if not math.isfinite(amount) or amount <= 0:
                raise SweepError(f"record {record.id}: unreadable amount in {record.reason!r}")
            changes.append((float(record.started_at), amount if record.kind == "deposit" else -amount))
        elif record.trigger == "targets_changed":
            targets.append(float(record.started_at))
    deposits = sum(a for _, a in changes if a > 0)
    asked = -sum(a for _, a in changes if a < 0)
    initial = engine.invested - deposits - engine.ledger.deposited + engine.withdrawn
    unrecorded = max(0.0, engine.withdrawn + engine.withdrawal_kept - asked)
    if unrecorded < 0.01:
        unrecorded = 0.0
    return Life(float(engine.started_at), initial, tuple(changes), unrecorded, tuple(targets))


def replay(spec: PortfolioSpec, life: Life, candles: Candles, rules: Mapping[str, MarketRules]) -> dict[str, Any]:
    """The engine over the candles from the portfolio's start, the investment changed when the real one's was;
    orders fill at the candle's open with the spec's fee (the core backtest's convention)."""
    spec = dataclasses.replace(spec, investment=life.initial)
    engine = Engine(spec, rules)
    pairs = list(spec.pairs)
    times = candles.times
    changes = list(life.changes)
    investment = life.initial
    for i, now in enumerate(times.tolist()):
        while changes and changes[0][0] <= now:
            investment += changes.pop(0)[1]
            engine.update_spec(dataclasses.replace(engine.spec, investment=investment))
        prices = {p: float(candles.opens[p][i]) for p in pairs if candles.opens[p][i] == candles.opens[p][i]}
        decision = engine.step(Snapshot(float(now), prices))
        for order in decision.orders:
            price = prices[order.pair]
            engine.on_fill(Fill(order.id, order.amount, price, order.amount * price * spec.fee, float(now)))
        if engine.status == "terminated":
            break
    return outcome(engine, last_closes(candles), life.unrecorded_withdrawal)


def last_closes(candles: Candles) -> dict[str, float]:
    out = {}
    for pair, col in candles.closes.items():
        known = np.flatnonzero(~np.isnan(col))
        if len(known):
            out[pair] = float(col[known[-1]])
    return out


def outcome(engine: Engine, prices: Mapping[str, float], unrecorded: float = 0.0) -> dict[str, Any]:
    """Value, profit and HODL at ``prices``; a cash withdrawal of unknown time taken at the end."""
    value = engine.value(prices) - unrecorded
    invested = engine.invested - unrecorded
    hodl = engine.hodl.value(prices) - unrecorded
    metrics = engine.metrics()
    return {"final_value": value, "invested": invested, "profit": value - invested,
            "profit_pct": (value - invested) / invested * 100 if invested else 0.0,
            "hodl_value": hodl, "hodl_profit_pct": (hodl - invested) / invested * 100 if invested else 0.0,
            "premium_pct": (value - hodl) / invested * 100 if invested else 0.0,
            "rebalances": metrics.rebalances, "orders": metrics.orders, "fees": metrics.fees,
            "turnover": metrics.turnover, "status": engine.status}


def own(spec: PortfolioSpec) -> Setting:
    if spec.mode == "proportional":
        return Setting("proportional", spec.threshold, spec.threshold_type)
    return Setting("scheduled", interval=format_interval(spec.interval))


def with_setting(spec: PortfolioSpec, setting: Setting) -> PortfolioSpec:
    if setting.mode == "proportional":
        assert setting.threshold is not None and setting.threshold_type is not None
        return dataclasses.replace(spec, mode="proportional", threshold=setting.threshold,
                                   threshold_type=setting.threshold_type)
    from smartpf_core import parse_interval

    return dataclasses.replace(spec, mode="scheduled", interval=parse_interval(setting.interval))


def add_arguments(p: argparse.ArgumentParser, markets_help: str) -> None:
    p.add_argument("--datadir", default=str(paths.DEFAULT_DATADIR),
                   help="folder of Freqtrade-format candles (smartpf fetch-data downloads them)")
    p.add_argument("--markets", default=str(paths.DEFAULT_MARKETS), help=markets_help)
    p.add_argument("--timeframe", help="candles to replay on, default the config's timeframe")
    p.add_argument("--thresholds", default=DEFAULT_THRESHOLDS, help=f"default {DEFAULT_THRESHOLDS}")
    p.add_argument("--threshold-types", default="absolute",
                   help="comma-separated threshold types to replay: absolute, relative")
    p.add_argument("--intervals", default=DEFAULT_INTERVALS, help=f"default {DEFAULT_INTERVALS}")
    p.add_argument("--json", action="store_true", help="the rows as a JSON list")


def cmd_whatif(args: argparse.Namespace) -> int:
    from smartpf.cli.inputs import pair_rules
    from smartpf.cli.portfolio import read_portfolio
    from smartpf.errors import UsageError

    url, store, row, engine = read_portfolio(args)
    last_seen = _last_seen(store, row)
    spec = engine.spec
    config_tf = None
    try:
        from smartpf.configfile import load_configs

        config_tf = load_configs(args.config).get("timeframe")
    except Exception:  # noqa: BLE001 - the config was read once already by read_portfolio
        config_tf = None
    timeframe = args.timeframe or config_tf
    if not timeframe:
        raise UsageError("--timeframe: not given and the config has no 'timeframe' (e.g. 1m, 5m, 1h)")
    try:
        settings = settings_grid(parse_thresholds(args.thresholds), parse_threshold_types(args.threshold_types),
                                 parse_intervals(args.intervals, timeframe))
        life = life_of(engine)
        rules = pair_rules(args.markets, spec.pairs, spec.min_trade)
        start = datetime.fromtimestamp(life.start, tz=UTC)
        candles = load_candles(args.datadir, list(spec.pairs), timeframe,
                               Timerange(start.replace(second=0, microsecond=0), None))
    except (SweepError, CandleError) as exc:
        raise UsageError(str(exc)) from exc
    if last_seen is not None and len(candles) and candles.times[-1] > last_seen:
        keep = candles.times <= last_seen  # the portfolio's life ends where its bot was last seen
        candles = Candles(candles.times[keep], {p: c[keep] for p, c in candles.opens.items()},
                          {p: c[keep] for p, c in candles.closes.items()})
    first = float(candles.times[0]) if len(candles) else math.inf
    step = float(np.median(np.diff(candles.times))) if len(candles) > 1 else 0.0
    if len(candles) < 2 or first > life.start + max(step, 60):
        raise UsageError(f"--datadir {args.datadir}: the {timeframe} candles start at {_iso(first)}, after the "
                         f"portfolio's first purchase at {_iso(life.start)} (fetch them: smartpf fetch-data)")
    yours = own(spec)
    others = [s for s in settings if s.label != yours.label]
    rows = [{"setting": f"{yours.label} (yours)", "run": "actual", **outcome(engine, last_closes(candles))}]
    rows.append({"setting": f"{yours.label} (yours)", "run": "replay", **replay(spec, life, candles, rules)})
    replays = [{"setting": s.label, "run": "replay", **replay(with_setting(spec, s), life, candles, rules)}
               for s in others]
    rows += sorted(replays, key=lambda r: -r["profit"])
    end = float(candles.times[-1])
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    _print(rows, spec, row.id, url, life, first, end, timeframe)
    return 0


def _last_seen(store: Any, row: Any) -> float | None:
    """When the portfolio's life ends: its bot's last loop (the view), else its archiving; None: still going."""
    view = store.view(row.id)
    if view is not None and view.prices_at:
        return float(view.prices_at)
    if row.archived_at is not None:
        return float(row.archived_at.replace(tzinfo=UTC).timestamp())
    return None


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%d %H:%M")


def _print(rows: Sequence[Mapping[str, Any]], spec: PortfolioSpec, pid: str, url: str, life: Life, first: float,
           end: float, timeframe: str) -> None:
    from rich.console import Console
    from rich.table import Table

    cur = spec.stake_currency
    moves = ", ".join(f"{_iso(t)} {'+' if a > 0 else '−'}{abs(a):g}" for t, a in life.changes) or "none"
    table = Table(title=f"portfolio {pid}: {', '.join(f'{c} {p:g} %' for c, p in spec.allocations)}; "
                        f"{_iso(life.start)} → {_iso(end)} UTC ({timeframe} candles)", title_justify="left")
    for name in ("setting", "run", f"value {cur}", f"profit {cur}", "profit", "vs HODL", "rebalances",
                 f"fees {cur}"):
        table.add_column(name, justify="left" if name in ("setting", "run") else "right", no_wrap=True)
    for r in rows:
        table.add_row(r["setting"], r["run"], f"{r['final_value']:,.2f}", f"{r['profit']:+,.2f}",
                      f"{r['profit_pct']:+.2f} %", f"{r['premium_pct']:+.2f} pt", str(r["rebalances"]),
                      f"{r['fees']:,.2f}")
    Console(width=max(120, Console().width)).print(table)
    print(f"first investment {life.initial:,.2f} {cur}; changes: {moves}. Values at the last {timeframe} close, "
          f"{_iso(end)} UTC (the bot's last loop or the data's end); 'actual' is the portfolio in {url} valued at "
          "those prices.")
    if life.unrecorded_withdrawal:
        print(f"note: {life.unrecorded_withdrawal:,.2f} {cur} were withdrawn from idle cash (no record, time "
              "unknown): every run takes them at the end", file=sys.stderr)
    if life.targets_changed:
        print(f"note: the targets changed on {', '.join(_iso(t) for t in life.targets_changed)}; the replays use "
              f"today's targets throughout", file=sys.stderr)
