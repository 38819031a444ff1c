"""``smartpf recommend``: rank settings for the config's own basket over many rolling windows.

One backtest's winner is luck as much as skill: the study (docs/research.md) finds no setting best in
every year. So this ranks each setting by its *median* premium over HODL across every window of
``--days`` in the data, with the spread, the fees, the turnover and how often it beat HODL, and suggests
one with that evidence, next to the config's own setting. Runs through ``smartpf.research.sweep``.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd

from smartpf import paths
from smartpf.backtest.candles import CandleError, Candles, Timerange, load_candles
from smartpf.research.sweep import (
    Setting,
    SweepError,
    Window,
    add_parallel_arguments,
    execute,
    parse_intervals,
    plan_sweep,
    print_ranking,
    rank,
)
from smartpf_core import PortfolioSpec, format_interval

GRID = [Setting("proportional", t, "absolute") for t in (1, 2, 3, 5, 10)] + \
    [Setting("proportional", t, "relative") for t in (5, 10, 25)] + \
    [Setting("scheduled", interval=i) for i in ("1d", "7d", "30d")]


def own_setting(spec: PortfolioSpec) -> Setting:
    if spec.mode == "proportional":
        return Setting("proportional", spec.threshold, spec.threshold_type)
    return Setting("scheduled", interval=format_interval(spec.interval))


def rolling_windows(start: datetime, stop: datetime, days: int, step: int) -> list[Window]:
    """Whole-day windows of ``days`` every ``step`` days inside [start, stop], the latest one ending at ``stop``
    (so the most recent year is always in)."""
    first = (start + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0) \
        if (start.hour, start.minute, start.second) != (0, 0, 0) else start
    last = stop.replace(hour=0, minute=0, second=0, microsecond=0)
    out = []
    end = last
    while end - timedelta(days=days) >= first:
        out.append(Window(end - timedelta(days=days), end))
        end -= timedelta(days=step)
    return out[::-1]


def suggestion(table: pd.DataFrame, yours: str, windows: str, currency: str) -> str:
    """One line: the setting with the best median premium, with its evidence, against the config's own."""
    best = str(table.index[0])
    b = table.loc[best]
    y = table.loc[yours]
    evidence = (f"median {b['median_premium_pct']:+.2f} pt over HODL across {windows}, beat HODL in "
                f"{b['beat_hodl_pct']:.0f} % of them, middle half {b['p25_premium_pct']:+.1f} … "
                f"{b['p75_premium_pct']:+.1f} pt, median fees {b['median_fees']:,.2f} {currency}")
    if b["median_premium_pct"] <= 0:
        cheapest = str(table["median_fees"].idxmin())
        return (f"No setting beat HODL in the median for this basket: the best, {best}, has {evidence}. "
                f"Rebalancing did not pay here; if you rebalance for risk, the cheapest is {cheapest}.")
    if best == yours:
        return f"Keep your setting, {yours}: {evidence}."
    gap = b["median_premium_pct"] - y["median_premium_pct"]
    spread = b["p75_premium_pct"] - b["p25_premium_pct"]
    caveat = (" The gap is smaller than the spread between windows: either is a reasonable choice."
              if gap < spread else "")
    return (f"Suggestion: {best}: {evidence}; yours, {yours}: median {y['median_premium_pct']:+.2f} pt, beat HODL "
            f"in {y['beat_hodl_pct']:.0f} %.{caveat}")


def add_arguments(p: argparse.ArgumentParser, markets_help: str) -> None:
    p.add_argument("--datadir", default=str(paths.DEFAULT_DATADIR),
                   help="folder of Freqtrade-format candles (smartpf fetch-data downloads them)")
    p.add_argument("--markets", default=str(paths.DEFAULT_MARKETS), help=markets_help)
    p.add_argument("--timeframe", default="1h", help="candles to run on (default 1h: years of data in seconds)")
    p.add_argument("--timerange", help="only the data inside YYYYMMDD-YYYYMMDD (default: all of it)")
    p.add_argument("--days", type=int, default=365, help="length of each window in days (default 365)")
    p.add_argument("--step", type=int, default=30, help="days between window starts (default 30)")
    add_parallel_arguments(p)


def cmd_recommend(args: argparse.Namespace) -> int:
    from smartpf.cli.inputs import load_spec, pair_rules
    from smartpf.errors import UsageError

    config, spec = load_spec(args.config)
    if not 1 <= args.days <= 3660:
        raise UsageError(f"--days {args.days}: use a window of 1 to 3660 days")
    if not 1 <= args.step <= 3660:
        raise UsageError(f"--step {args.step}: use 1 to 3660 days between windows")
    yours = own_setting(spec)
    settings = [s for s in GRID if s.label != yours.label] + [yours]
    try:
        timerange = Timerange.parse(args.timerange)
        parse_intervals(",".join(s.interval for s in GRID if s.interval), args.timeframe)
        candles = load_candles(args.datadir, list(spec.pairs), args.timeframe, timerange)
        start, stop = common_span(candles)
        windows = rolling_windows(start, stop, args.days, args.step)
        if len(windows) < 2:
            raise SweepError(f"--days {args.days}: the data for {', '.join(spec.coins)} covers "
                             f"{start:%Y-%m-%d} → {stop:%Y-%m-%d}, too short for two windows of {args.days} days "
                             f"(fetch more, or use a shorter --days)")
        plan = plan_sweep(config, {"yours": dict(spec.allocations)}, settings, windows,
                          Timerange(windows[0].start, windows[-1].stop), args.datadir, args.timeframe,
                          lambda pairs, min_trade: pair_rules(args.markets, pairs, min_trade))
        rows = execute(plan, args.backend, args.jobs, args.scheduler, progress=True)
    except (SweepError, CandleError) as exc:
        raise UsageError(str(exc)) from exc
    table = rank(rows)
    span = f"{windows[0].start:%Y-%m-%d} → {windows[-1].stop:%Y-%m-%d}"
    label = {yours.label: f"{yours.label} (yours)"}
    shown = table.head(8)
    if yours.label not in shown.index:
        shown = pd.concat([shown, table.loc[[yours.label]]])
    print_ranking(shown.rename(index=label), spec.stake_currency,
                  f"{', '.join(f'{c} {p:g} %' for c, p in spec.allocations)}: {len(settings)} settings × "
                  f"{len(windows)} windows of {args.days} days every {args.step} days, {args.timeframe} candles")
    print(suggestion(table, yours.label, f"{len(windows)} windows of {args.days} days ({span})", spec.stake_currency))
    print(f"(windows overlap, so they are not independent; {args.timeframe} candles, the bot checks more often; "
          "past windows, coins alive today: see docs/research.md)", file=sys.stderr)
    return 0


def common_span(candles: Candles) -> tuple[datetime, datetime]:
    """From the first time every pair has a close to the last time every pair has one."""
    times = candles.times
    firsts, lasts = [], []
    for col in candles.closes.values():
        known = np.flatnonzero(~np.isnan(col))
        if not len(known):
            raise SweepError("a pair has no candles in the range")
        firsts.append(times[known[0]])
        lasts.append(times[known[-1]])
    return (datetime.fromtimestamp(float(max(firsts)), tz=UTC), datetime.fromtimestamp(float(min(lasts)), tz=UTC))
