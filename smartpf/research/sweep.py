"""``smartpf sweep``: many settings × baskets × windows on the fast engine, in parallel through joblib.

Each row is exactly what ``smartpf backtest --json`` prints for one basket, one window (a timerange a
user can pass back to ``backtest``) and one setting, plus the premium over HODL. The settings are built
by changing the config's ``smart_portfolio`` section and validating it with the same ``parse_settings``
the bot uses; the candles are read once per basket by the same ``load_candles`` and sliced per window
(the union of candle times, restricted to a window, is the window's own union).

One task is one basket × one window running all its settings in-process: a single 1-year run on 1h
candles takes milliseconds, so smaller tasks would lose to scheduling. joblib's default (loky) backend
memory-maps the large candle arrays to its worker processes; ``--backend dask`` runs the very same
tasks through joblib's Dask backend on a ``distributed`` cluster (the optional extra ``cluster``).
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import re
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from smartpf import paths
from smartpf.backtest.candles import CandleError, Timerange, load_candles
from smartpf.backtest.fastsim import EXECUTIONS, PriceArrays, run_backtest
from smartpf.backtest.report import backtest_summary
from smartpf.errors import SmartpfError
from smartpf_core import MarketRules, PortfolioSpec, parse_interval, parse_settings

BACKENDS = ("loky", "dask")
DEFAULT_THRESHOLDS = "1,2,5,10"
DEFAULT_INTERVALS = "1d,7d,30d"
TIMEFRAME_SECONDS = {"1m": 60, "3m": 180, "5m": 300, "15m": 900, "30m": 1800, "1h": 3600, "2h": 7200,
                     "4h": 14400, "6h": 21600, "8h": 28800, "12h": 43200, "1d": 86400}


class SweepError(SmartpfError):
    """Bad input to a sweep: one line, exit code 2 (the command line turns it into its UsageError)."""


@dataclass(frozen=True)
class Setting:
    """One way to rebalance: proportional at a threshold, or scheduled at an interval."""

    mode: str
    threshold: float | None = None
    threshold_type: str | None = None
    interval: str | None = None
    options: tuple[tuple[str, str], ...] = ()  # rebalancing options on top (key, JSON value): smartpf study --options

    @property
    def label(self) -> str:
        if self.mode == "proportional":
            base = f"threshold {self.threshold:g} {'pt' if self.threshold_type == 'absolute' else '% rel'}"
        else:
            base = f"every {self.interval}"
        return base + (" + " + ", ".join(f"{k}={v}" for k, v in self.options) if self.options else "")

    def overrides(self) -> dict[str, Any]:
        extra = {k: json.loads(v) for k, v in self.options}
        if self.mode == "proportional":
            return {"mode": "proportional", "threshold": self.threshold, "threshold_type": self.threshold_type,
                    **extra}
        return {"mode": "scheduled", "interval": self.interval, **extra}


@dataclass(frozen=True)
class Window:
    """Whole days ``[start 00:00, stop 00:00]``, the stop candle included, as ``backtest --timerange``."""

    start: datetime | None
    stop: datetime | None

    @property
    def label(self) -> str:
        """The ``--timerange`` of ``smartpf backtest`` that runs this window."""
        a = f"{self.start:%Y%m%d}" if self.start else ""
        b = f"{self.stop:%Y%m%d}" if self.stop else ""
        return f"{a}-{b}"


@dataclass(frozen=True)
class Cell:
    """One task: a basket's candles over one window, and every setting's spec for it."""

    basket: str
    window: str
    times: np.ndarray
    opens: np.ndarray  # candles × pairs
    closes: np.ndarray
    pairs: tuple[str, ...]
    specs: tuple[tuple[Setting, PortfolioSpec], ...]
    rules: Mapping[str, MarketRules]
    timeframe: str
    execution: str


@dataclass
class Plan:
    """Everything a sweep runs, checked before any work starts."""

    cells: list[Cell]
    settings: list[Setting]
    windows: list[str]
    baskets: list[str]
    skipped: list[str]

    @property
    def runs(self) -> int:
        return sum(len(c.specs) for c in self.cells)


# ---- parsing the options (each names the option, the value and what is allowed) ----

def parse_thresholds(text: str | None) -> list[float]:
    values: list[float] = []
    for item in _items(text):
        try:
            value = float(item)
        except ValueError:
            value = math.nan
        if not 0 < value < 100:
            raise SweepError(f"--thresholds {item!r}: a threshold must be a number greater than 0 and less than 100 "
                             "(percent)")
        values.append(value)
    return values


def parse_threshold_types(text: str | None) -> list[str]:
    types = _items(text) or ["absolute"]
    for item in types:
        if item not in ("absolute", "relative"):
            raise SweepError(f"--threshold-types {item!r}: use absolute, relative or both (absolute,relative)")
    return types


def parse_intervals(text: str | None, timeframe: str) -> list[str]:
    out = []
    step = TIMEFRAME_SECONDS.get(timeframe)
    for item in _items(text):
        try:
            seconds = parse_interval(item)
        except ValueError as exc:
            raise SweepError(f"--intervals {item!r}: {exc}") from exc
        if step is not None and seconds < step:
            raise SweepError(f"--intervals {item!r}: shorter than the {timeframe} candles; an interval must be at "
                             f"least the timeframe")
        out.append(item.strip())
    return out


def parse_windows(text: str | None, timerange: Timerange) -> list[Window]:
    """``LENGTH/STEP`` in days or weeks (``365d/90d``): rolling windows inside the timerange, or the
    timerange itself when not given."""
    if not text:
        return [Window(timerange.start, timerange.stop)]
    match = re.fullmatch(r"\s*(\d+)([dw])\s*/\s*(\d+)([dw])\s*", text)
    if match is None:
        raise SweepError(f"--windows {text!r}: use LENGTH/STEP in days or weeks, e.g. 365d/90d")
    length = timedelta(days=int(match.group(1)) * (7 if match.group(2) == "w" else 1))
    step = timedelta(days=int(match.group(3)) * (7 if match.group(4) == "w" else 1))
    if length.days < 1 or step.days < 1:
        raise SweepError(f"--windows {text!r}: the length and the step must be at least one day")
    if timerange.start is None or timerange.stop is None:
        raise SweepError("--windows needs a --timerange with a start and an end, e.g. 20180601-20260501")
    windows = []
    start = timerange.start
    while start + length <= timerange.stop:
        windows.append(Window(start, start + length))
        start += step
    if not windows:
        raise SweepError(f"--windows {text!r}: no window of {length.days} days fits in the timerange")
    return windows


def parse_baskets(path: str | None, config: Mapping[str, Any]) -> dict[str, dict[str, float]]:
    """A JSON file ``{"name": {"BTC": 40, ...}, ...}``; without one, the config's own basket."""
    if path is None:
        section = config.get("smart_portfolio") or {}
        return {"config": dict(section.get("assets") or {})}
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise SweepError(f"--baskets {path}: cannot read the file ({exc.strerror or exc})") from exc
    except ValueError as exc:
        raise SweepError(f"--baskets {path}: not valid JSON ({exc})") from exc
    if not isinstance(data, dict) or not data or not all(isinstance(v, dict) for v in data.values()):
        raise SweepError(f'--baskets {path}: must be a JSON object of name to basket, e.g. '
                         '{"majors": {"BTC": 50, "ETH": 50}}')
    return {str(k): dict(v) for k, v in data.items()}


def _items(text: str | None) -> list[str]:
    return [t.strip() for t in (text or "").split(",") if t.strip()]


def settings_grid(thresholds: Sequence[float], types: Sequence[str], intervals: Sequence[str]) -> list[Setting]:
    """Each threshold (per type) gives one proportional run, each interval one scheduled run: not crossed."""
    grid = [Setting("proportional", threshold=t, threshold_type=k) for k in types for t in thresholds]
    grid += [Setting("scheduled", interval=i) for i in intervals]
    if not grid:
        raise SweepError("--thresholds and --intervals are both empty: nothing to sweep")
    return grid


def spec_for(config: Mapping[str, Any], assets: Mapping[str, float], setting: Setting, basket: str) -> PortfolioSpec:
    """The spec ``smartpf backtest`` would run for the config with this basket and this setting."""
    changed = copy.deepcopy(dict(config))
    section = dict(changed.get("smart_portfolio") or {})
    section["assets"] = dict(assets)
    section.update(setting.overrides())
    changed["smart_portfolio"] = section
    result = parse_settings(changed)
    if not result.ok or result.spec is None:
        raise SweepError(f"basket {basket!r}, {setting.label}: {result.errors[0]}")
    return result.spec


# ---- planning: everything checked and loaded before the first run ----

def plan_sweep(config: Mapping[str, Any], baskets: Mapping[str, Mapping[str, float]], settings: Sequence[Setting],
               windows: Sequence[Window], timerange: Timerange, datadir: str, timeframe: str,
               rules_for: Any, execution: str = "next-candle") -> Plan:
    """Validate every basket × setting, load each basket's candles once, cut them into windows.

    ``rules_for(pairs, min_trade)`` returns the exchange rules of those pairs (or raises for a missing one)."""
    if execution not in EXECUTIONS:
        raise SweepError(f"--execution {execution!r}: use one of {', '.join(EXECUTIONS)}")
    cells: list[Cell] = []
    skipped: list[str] = []
    for name, assets in baskets.items():
        specs = tuple((s, spec_for(config, assets, s, name)) for s in settings)
        pairs = specs[0][1].pairs
        rules = rules_for(pairs, specs[0][1].min_trade)
        try:
            candles = load_candles(datadir, list(pairs), timeframe, timerange)
        except CandleError as exc:
            raise SweepError(f"basket {name!r}: {exc}") from exc
        opens = np.column_stack([candles.opens[p] for p in pairs])
        closes = np.column_stack([candles.closes[p] for p in pairs])
        for window in windows:
            lo, hi = _window_slice(candles.times, window)
            if hi - lo < 2:
                skipped.append(f"basket {name!r} window {window.label}: fewer than 2 candles")
                continue
            empty = [p for k, p in enumerate(pairs) if np.isnan(closes[lo:hi, k]).all()]
            if empty:
                skipped.append(f"basket {name!r} window {window.label}: no candles for {', '.join(empty)}")
                continue
            cells.append(Cell(name, window.label, candles.times[lo:hi], opens[lo:hi], closes[lo:hi], pairs, specs,
                              rules, timeframe, execution))
    if not cells:
        raise SweepError("no basket has candles in any window: " + "; ".join(skipped[:3]))
    return Plan(cells, list(settings), [w.label for w in windows], list(baskets), skipped)


def _window_slice(times: np.ndarray, window: Window) -> tuple[int, int]:
    lo = 0 if window.start is None else int(np.searchsorted(times, window.start.timestamp(), side="left"))
    hi = len(times) if window.stop is None else int(np.searchsorted(times, window.stop.timestamp(), side="right"))
    return lo, hi


# ---- running ----

def run_cell(cell: Cell) -> list[dict[str, Any]]:
    """Every setting of one basket × window, in this process: one row per setting."""
    rows = []
    opens = {p: np.ascontiguousarray(cell.opens[:, k]) for k, p in enumerate(cell.pairs)}
    closes = {p: np.ascontiguousarray(cell.closes[:, k]) for k, p in enumerate(cell.pairs)}
    times = np.asarray(cell.times)
    t0 = time.perf_counter()
    prepared = PriceArrays(times, opens, closes)  # once for all the settings; its time is shared out below
    share = (time.perf_counter() - t0) / max(1, len(cell.specs))
    for setting, spec in cell.specs:
        result, seconds = run_backtest("fast", spec, times, opens, closes, rules=cell.rules, execution=cell.execution,
                                       prepared=prepared)
        summary = backtest_summary(result, spec, cell.timeframe)
        summary.update({"engine": "fast", "execution": cell.execution, "simulation_seconds": seconds + share})
        rows.append(row_of(summary, cell.basket, cell.window, setting))
    return rows


def row_of(summary: Mapping[str, Any], basket: str, window: str, setting: Setting) -> dict[str, Any]:
    """A flat row: parameters, then every ``backtest --json`` field (lists and objects as JSON text)."""
    row: dict[str, Any] = {"basket": basket, "window": window, "setting": setting.label,
                           "setting_interval": setting.interval}
    for key, value in summary.items():
        row[key] = json.dumps(value) if isinstance(value, list | dict) else value
    row["premium_pct"] = summary["profit_pct"] - summary["hodl_profit_pct"]
    return row


def execute(plan: Plan, backend: str = "loky", jobs: int = -1, scheduler: str | None = None,
            progress: bool = True) -> pd.DataFrame:
    """Run every cell through joblib (loky processes, or Dask workers) and return the rows in plan order."""
    import joblib

    results: dict[int, list[dict[str, Any]]] = {}
    tasks = (joblib.delayed(_indexed)(i, cell) for i, cell in enumerate(plan.cells))
    if backend == "dask":
        client = dask_client(scheduler)
        if sum(client.ncores().values()) <= 1:
            print(f"note: the cluster at {scheduler} has {sum(client.ncores().values())} worker thread(s); joblib "
                  "runs the tasks in this process when there is only one", file=sys.stderr)
        try:
            with joblib.parallel_config(backend="dask"):
                _collect(joblib.Parallel(n_jobs=-1, return_as="generator_unordered")(tasks), results, plan,
                         progress)
        finally:
            client.close()
    elif backend == "loky":
        parallel = joblib.Parallel(n_jobs=jobs, backend="loky", return_as="generator_unordered")
        _collect(parallel(tasks), results, plan, progress)
    else:
        raise SweepError(f"--backend {backend!r}: use one of {', '.join(BACKENDS)}")
    rows = [row for i in range(len(plan.cells)) for row in results[i]]
    return pd.DataFrame(rows)


def _indexed(i: int, cell: Cell) -> tuple[int, list[dict[str, Any]]]:
    return i, run_cell(cell)


def _collect(outputs: Iterable[tuple[int, list[dict[str, Any]]]], results: dict[int, list[dict[str, Any]]],
             plan: Plan, progress: bool) -> None:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    console = Console(stderr=True)
    columns = (TextColumn("sweep"), BarColumn(), MofNCompleteColumn(), TextColumn("runs"), TimeRemainingColumn())
    plain = progress and not console.is_terminal  # a log file: a line at every tenth instead of a bar
    done, shown = 0, 0
    with Progress(*columns, console=console, disable=not progress or plain, transient=True) as bar:
        task = bar.add_task("sweep", total=plan.runs)
        for i, rows in outputs:
            results[i] = rows
            bar.advance(task, len(rows))
            done += len(rows)
            if plain and done * 10 // plan.runs > shown:
                shown = done * 10 // plan.runs
                print(f"sweep: {done} of {plan.runs} runs", file=sys.stderr, flush=True)


def dask_client(scheduler: str | None) -> Any:
    """A ``distributed`` client on the scheduler; joblib's Dask backend uses the current client."""
    if not scheduler:
        raise SweepError("--backend dask needs --scheduler tcp://HOST:PORT (a running dask scheduler)")
    try:
        from distributed import Client
    except ImportError as exc:
        raise SweepError("--backend dask needs the 'cluster' extra: pip install 'smartpf[cluster]'") from exc
    try:
        return Client(scheduler, timeout="20s")
    except (OSError, TimeoutError, ValueError) as exc:
        raise SweepError(f"--scheduler {scheduler}: cannot connect ({exc})") from exc


# ---- summaries ----

def rank(rows: pd.DataFrame) -> pd.DataFrame:
    """Settings ranked by the median premium over HODL across every basket × window, with its spread."""
    grouped = rows.groupby("setting", sort=False)
    table = pd.DataFrame({
        "runs": grouped.size(),
        "median_premium_pct": grouped["premium_pct"].median(),
        "p25_premium_pct": grouped["premium_pct"].quantile(0.25),
        "p75_premium_pct": grouped["premium_pct"].quantile(0.75),
        "beat_hodl_pct": grouped["premium_pct"].apply(lambda s: float((s > 0).mean() * 100)),
        "median_fees": grouped["fees"].median(),
        "median_turnover": grouped["turnover"].median(),
        "median_rebalances": grouped["rebalances"].median(),
        "median_max_drawdown_pct": grouped["max_drawdown_pct"].median(),
    })
    return table.sort_values(["median_premium_pct", "beat_hodl_pct"], ascending=False)


def print_ranking(table: pd.DataFrame, currency: str, title: str, limit: int = 25) -> None:
    from rich.console import Console
    from rich.table import Table

    out = Table(title=title, title_justify="left")
    for name, justify in (("#", "right"), ("setting", "left"), ("runs", "right"), ("median vs HODL", "right"),
                          ("middle half", "right"), ("beat HODL", "right"), (f"fees {currency}", "right"),
                          (f"turnover {currency}", "right"), ("rebalances", "right"), ("max DD", "right")):
        out.add_column(name, justify=justify, no_wrap=True)  # type: ignore[arg-type]
    for n, (setting, r) in enumerate(table.head(limit).iterrows(), 1):
        out.add_row(str(n), str(setting), str(int(r["runs"])), f"{r['median_premium_pct']:+.2f} pt",
                    f"{r['p25_premium_pct']:+.1f} … {r['p75_premium_pct']:+.1f}", f"{r['beat_hodl_pct']:.0f} %",
                    f"{r['median_fees']:,.2f}", f"{r['median_turnover']:,.0f}", f"{r['median_rebalances']:g}",
                    f"{r['median_max_drawdown_pct']:.1f} %")
    Console(width=max(140, Console().width)).print(out)


def heatmap(rows: pd.DataFrame, path: Path, title: str, order: Sequence[str] | None = None) -> None:
    """Premium over HODL (median over baskets), one cell per setting × window, red below HODL, blue above."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import TwoSlopeNorm

    grid = rows.pivot_table(index="setting", columns="window", values="premium_pct", aggfunc="median", sort=False)
    if order is not None:
        grid = grid.reindex([s for s in order if s in grid.index])
    data = grid.to_numpy(dtype=float)
    finite = data[np.isfinite(data)]
    # a bull year's premiums run to hundreds of points: cap the colours at the 95th percentile, so that
    # every other window stays readable (the colour bar says so)
    bound = float(np.percentile(np.abs(finite), 95)) if finite.size else 1.0
    fig, ax = plt.subplots(figsize=(max(6.0, 0.45 * grid.shape[1] + 3), max(3.0, 0.32 * grid.shape[0] + 1.5)))
    image = ax.imshow(data, aspect="auto", cmap="RdBu", norm=TwoSlopeNorm(0.0, -bound or -1, bound or 1))
    ax.set_yticks(range(grid.shape[0]), list(grid.index), fontsize=8)
    ax.set_xticks(range(grid.shape[1]), [str(w).split("-")[0] for w in grid.columns], rotation=90, fontsize=7)
    ax.set_xlabel("window start")
    ax.set_title(title, fontsize=10)
    fig.colorbar(image, ax=ax, extend="both", label=f"premium over HODL, pt (colours capped at ±{bound or 1:.3g})")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_results(rows: pd.DataFrame, out: Path) -> tuple[Path, Path]:
    out.mkdir(parents=True, exist_ok=True)
    csv_path, parquet_path = out / "results.csv", out / "results.parquet"
    rows.to_csv(csv_path, index=False)
    rows.to_parquet(parquet_path, index=False)
    return csv_path, parquet_path


# ---- the command ----

def add_arguments(p: argparse.ArgumentParser, markets_help: str) -> None:
    p.add_argument("--datadir", default=str(paths.DEFAULT_DATADIR),
                   help="folder of Freqtrade-format candles (smartpf fetch-data downloads them)")
    p.add_argument("--timeframe", help="candle size, default the config's timeframe")
    p.add_argument("--timerange", required=True, help="YYYYMMDD-YYYYMMDD, as in smartpf backtest")
    p.add_argument("--markets", default=str(paths.DEFAULT_MARKETS), help=markets_help)
    p.add_argument("--thresholds", default=DEFAULT_THRESHOLDS,
                   help=f"percent, comma-separated: one proportional run each (default {DEFAULT_THRESHOLDS}; "
                        "'' for none)")
    p.add_argument("--threshold-types", default="absolute", help="absolute, relative or absolute,relative")
    p.add_argument("--intervals", default=DEFAULT_INTERVALS,
                   help=f"one scheduled run each, e.g. 4h,1d,7d (default {DEFAULT_INTERVALS}; '' for none)")
    p.add_argument("--baskets", metavar="FILE", help='JSON {"name": {"BTC": 40, ...}}; default the config\'s basket')
    p.add_argument("--windows", metavar="LENGTH/STEP", help="rolling windows, e.g. 365d/90d (default: the timerange)")
    p.add_argument("--execution", choices=EXECUTIONS, default="next-candle", help="as in smartpf backtest")
    p.add_argument("--out", required=True, metavar="DIR", help="results.csv, results.parquet and heatmap.png go here")
    add_parallel_arguments(p)
    p.add_argument("--top", type=int, default=25, help="rows of the ranked table (default 25)")


def cmd_sweep(args: argparse.Namespace) -> int:
    from smartpf.cli.inputs import chosen_timeframe, load_spec, pair_rules
    from smartpf.errors import UsageError

    try:
        config, _ = load_spec(args.config)
        timeframe = chosen_timeframe(args, config)
        timerange = Timerange.parse(args.timerange)
        settings = settings_grid(parse_thresholds(args.thresholds), parse_threshold_types(args.threshold_types),
                                 parse_intervals(args.intervals, timeframe))
        windows = parse_windows(args.windows, timerange)
        baskets = parse_baskets(args.baskets, config)
        if args.backend == "dask" and not args.scheduler:
            raise SweepError("--backend dask needs --scheduler tcp://HOST:PORT (a running dask scheduler)")
        if args.jobs == 0 or args.jobs < -1:
            raise SweepError(f"--jobs {args.jobs}: use a number of workers of 1 or more, or -1 for every core")
        plan = plan_sweep(config, baskets, settings, windows, timerange, args.datadir, timeframe,
                          lambda pairs, min_trade: pair_rules(args.markets, pairs, min_trade), args.execution)
    except (SweepError, CandleError) as exc:
        raise UsageError(str(exc)) from exc
    for note in plan.skipped:
        print(f"note: skipped {note}", file=sys.stderr)
    t0 = time.perf_counter()
    try:
        rows = execute(plan, args.backend, args.jobs, args.scheduler, progress=True)
    except SweepError as exc:
        raise UsageError(str(exc)) from exc
    seconds = time.perf_counter() - t0
    out = Path(args.out)
    try:
        csv_path, parquet_path = write_results(rows, out)
        heatmap(rows, out / "heatmap.png", "Premium over HODL by setting and window (smartpf sweep)",
                [s.label for s in settings])
    except OSError as exc:
        raise UsageError(f"--out {out}: cannot write the results ({exc.strerror or exc})") from exc
    currency = str(rows["stake_currency"].iloc[0])
    print_ranking(rank(rows), currency, f"{len(rows)} runs: {len(plan.baskets)} basket(s) × "
                  f"{len(plan.windows)} window(s) × {len(settings)} settings, ranked by median premium over HODL",
                  args.top)
    print(f"{len(rows)} runs in {seconds:.1f} s ({len(rows) / seconds:.0f} runs/s, {args.backend}); wrote {csv_path}, "
          f"{parquet_path}, {out / 'heatmap.png'}")
    return 0


def utc_day(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, tz=UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def add_parallel_arguments(p: argparse.ArgumentParser) -> None:
    """--jobs, --backend, --scheduler: how sweep, recommend and study spread their runs (one set of flags)."""
    p.add_argument("--jobs", type=int, default=-1, help="worker processes (loky; default: every core)")
    p.add_argument("--backend", choices=BACKENDS, default="loky",
                   help="loky (default): processes on this machine; dask: a distributed cluster (--scheduler)")
    p.add_argument("--scheduler", metavar="tcp://HOST:PORT", help="the dask scheduler for --backend dask")
