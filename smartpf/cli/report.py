"""``smartpf report`` (a bot's trade database, or a Freqtrade backtest result) and ``backtest --report``."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from smartpf import paths
from smartpf.errors import UsageError
from smartpf.reporting.inputs import ReportInput
from smartpf.reporting.sources import SourceError, bot_input, freqtrade_input


class ReportCommandError(UsageError):
    """Bad input: one line, exit code 2."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-c", "--config", action="append", metavar="CONFIG",
                        help="the bot's Freqtrade config (its trade database and timeframe); repeat to merge")
    parser.add_argument("--db-url", help="the trade database (default: as Freqtrade resolves it from the config)")
    parser.add_argument("--freqtrade-result", metavar="FILE",
                        help="smartpf-summary.json of a Freqtrade backtest of SmartPortfolio (or its folder), "
                             "instead of a bot's database")
    parser.add_argument("--out", required=True, metavar="DIR", help="folder for report.html, the PNGs, report.json")
    parser.add_argument("--datadir", default=str(paths.DEFAULT_DATADIR),
                        help="Freqtrade-format candles of the period (the value at every candle close)")
    parser.add_argument("--timeframe", help="candle size for a bot's report (default: the config's timeframe)")
    parser.add_argument("--json", action="store_true", help="print report.json (totals and premium split)")


def cmd_report(args: argparse.Namespace) -> int:
    if bool(args.config) == bool(args.freqtrade_result):
        raise ReportCommandError("give either -c CONFIG (a bot's trade database) or --freqtrade-result FILE")
    try:
        data = freqtrade_input(args.freqtrade_result, args.datadir) if args.freqtrade_result else bot_report_input(args)
    except SourceError as exc:
        raise ReportCommandError(str(exc)) from exc
    return emit(data, args.out, args.json)


def emit(data: ReportInput, out: str, as_json: bool) -> int:
    """Write the folder; print the tables (or the JSON) and where the page is."""
    from smartpf.reporting.totals import print_tables
    from smartpf.reporting.write import ReportError, write_report

    console = Console(stderr=True)
    try:
        result = write_report(data, out, console)
    except ReportError as exc:
        raise ReportCommandError(str(exc)) from exc
    if as_json:
        print(json.dumps(result, indent=2))
    else:
        print_tables(data, result["totals"], result["premium_split"], Console())
    print(f"wrote {result['page']} and {len(result['pngs'])} PNGs in {out}", file=sys.stderr)
    return 0


def bot_report_input(args: argparse.Namespace) -> ReportInput:
    from smartpf.cli.portfolio import read_portfolio
    from smartpf.cli.view import portfolio_view
    from smartpf.configfile import ConfigError, load_configs

    try:
        config = load_configs(args.config)
    except ConfigError as exc:
        raise ReportCommandError(str(exc)) from exc
    timeframe = args.timeframe or config.get("timeframe")
    if not timeframe:
        raise ReportCommandError("--timeframe: not given and the config has no 'timeframe' (e.g. 1m, 5m, 1h)")
    url, store, row, engine = read_portfolio(args)
    view_row = store.view(row.id)
    prices = json.loads(view_row.prices) if view_row else {}
    prices_at = view_row.prices_at if view_row else None
    view: dict[str, Any] | None = None
    if prices and prices_at and all(p in prices for p in engine.ledger_pairs()):
        view = {**portfolio_view(engine, prices, prices_at, time.time()), "prices_at": prices_at}
    m = engine.metrics()
    metrics = {"rebalances": m.rebalances, "orders": m.orders, "fees": m.fees, "turnover": m.turnover}
    return bot_input(engine.to_dict(), metrics, view, args.datadir, str(timeframe), row.id, url)


@contextmanager
def backtest_progress(candles: int) -> Iterator[Callable[[int, int], None] | None]:
    """A progress bar for the fast engine on a terminal (nothing when the output is a file or a pipe)."""
    console = Console(stderr=True)
    if not console.is_terminal:
        yield None
        return
    with Progress(TextColumn("[bold]backtest[/]"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=console, transient=True) as progress:
        task = progress.add_task("candles", total=candles)
        yield lambda i, n: progress.update(task, completed=i)
