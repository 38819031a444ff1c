"""The backtest commands: ``backtest`` (the core alone, in seconds), ``ft-backtest`` (freqtrade backtesting of
SmartPortfolio on the replay exchange) and ``report`` (charts and totals of a bot or a backtest)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from smartpf import paths
from smartpf.backtest import ftbacktest
from smartpf.backtest.candles import CandleError, Timerange, load_candles
from smartpf.backtest.fastsim import ENGINES, EXECUTIONS, run_backtest
from smartpf.backtest.report import backtest_summary, format_summary, write_records
from smartpf.cli.inputs import MARKETS_HELP, chosen_timeframe, config_arg, load_spec, market_rules, pair_rules
from smartpf.cli.report import backtest_progress
from smartpf.errors import UsageError
from smartpf_core import check_config, investment_problems


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("backtest", help="replay the core engine over Freqtrade-format candles")
    config_arg(p)
    p.add_argument("--datadir", default=str(paths.DEFAULT_DATADIR), help="Freqtrade-format candles")
    p.add_argument("--timeframe", help="candle size, default the config's timeframe")
    p.add_argument("--timerange", help="YYYYMMDD-YYYYMMDD (end day's 00:00 candle included, as in Freqtrade)")
    p.add_argument("--markets", default=str(paths.DEFAULT_MARKETS), help=MARKETS_HELP)
    p.add_argument("--engine", choices=ENGINES, default="fast",
                   help="fast (default): steps the engine only where numpy finds something could happen; step: "
                        "every candle. Both give the same orders")
    p.add_argument("--execution", choices=EXECUTIONS, default="next-candle",
                   help="next-candle (default, as Freqtrade backtesting): a rebalance's buys fill one candle after "
                        "its sells; same-candle: on the same candle, at the same open, as live trading")
    p.add_argument("--json", action="store_true", help="print a JSON summary")
    p.add_argument("--records", metavar="FILE",
                   help="write one CSV row per filled order: time,operation_id,operation_kind,trigger,pair,side,"
                        "quantity,price,fee")
    p.add_argument("--report", metavar="DIR", help="write DIR/report.html (charts, totals, the premium over HODL "
                   "split), one PNG per chart and report.json")
    p.set_defaults(func=cmd_backtest)

    p = sub.add_parser("ft-backtest", help="freqtrade backtesting of SmartPortfolio, offline (replay exchange)")
    ftbacktest.add_arguments(p)
    p.set_defaults(func=cmd_ft_backtest)

    from smartpf.cli import report as report_cli

    p = sub.add_parser("report", help="charts and totals of a bot (its trade database) or of a Freqtrade backtest "
                       "result, as DIR/report.html and PNGs")
    report_cli.add_arguments(p)
    p.set_defaults(func=report_cli.cmd_report)



def cmd_backtest(args: argparse.Namespace) -> int:
    config, spec = load_spec(args.config)
    timeframe = chosen_timeframe(args, config)
    rules = pair_rules(args.markets, spec.pairs, spec.min_trade)
    try:
        timerange = Timerange.parse(args.timerange or config.get("timerange"))
        candles = load_candles(args.datadir, list(spec.pairs), timeframe, timerange)
    except CandleError as exc:
        raise UsageError(str(exc)) from exc
    if len(candles) < 2:
        raise UsageError("the timerange holds fewer than 2 candles; nothing to backtest")
    first = {p: float(candles.opens[p][1]) for p in spec.pairs}
    if all(v == v for v in first.values()):
        # a simulation runs anyway: what the bot would refuse is a warning here
        for problem in investment_problems(spec, {p: rules[p] for p in spec.pairs}, first)[1]:
            print(f"warning: {str(problem).removeprefix('warning: ')} (at the first candle's prices)", file=sys.stderr)
    with backtest_progress(len(candles)) as progress:
        result, seconds = run_backtest(args.engine, spec, candles.times, {p: candles.opens[p] for p in spec.pairs},
                                       {p: candles.closes[p] for p in spec.pairs},
                                       rules={p: rules[p] for p in spec.pairs}, execution=args.execution,
                                       progress=progress)
    summary = backtest_summary(result, spec, timeframe)
    summary.update({"engine": args.engine, "execution": args.execution, "simulation_seconds": seconds})
    if args.report:
        summary.update(_backtest_report(args.report, result, summary, candles, timeframe))
    if args.records:
        try:
            count = write_records(args.records, result.engine)
        except OSError as exc:
            raise UsageError(f"--records {args.records}: cannot write the file ({exc.strerror or exc})") from exc
        print(f"wrote {count} trading records to {args.records}", file=sys.stderr)
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(format_summary(summary, spec))
    return 0


def _backtest_report(out: str, result: Any, summary: dict[str, Any], candles: Any, timeframe: str) -> dict[str, Any]:
    """``--report DIR``: the page and the PNGs of this run; the premium split joins the JSON summary."""
    from smartpf.reporting.sources import from_state
    from smartpf.reporting.write import ReportError, write_report

    data = from_state(result.engine.to_dict(), dict(summary), candles, timeframe,
                      "Smart Portfolio — core backtest", f"smartpf backtest ({summary['engine']} engine, "
                      f"{summary['execution']})")
    try:
        report = write_report(data, out)
    except ReportError as exc:
        raise UsageError(str(exc)) from exc
    print(f"wrote {report['page']} and {len(report['pngs'])} PNGs", file=sys.stderr)
    return {"premium_split": report["premium_split"], "report": report["page"]}


def cmd_ft_backtest(args: argparse.Namespace) -> int:
    config, spec = load_spec(args.config)
    checked = check_config({**config, "timeframe": args.timeframe} if args.timeframe else config)
    if checked.errors:  # what SmartPortfolio would refuse at start, before the replay exchange starts
        for line in checked.lines():
            print(line, file=sys.stderr)
        raise UsageError(f"the bot would not start with {', '.join(args.config)} (see above)")
    if not Path(args.datadir).is_dir():
        raise UsageError(f"--datadir {args.datadir}: no such directory (Freqtrade-format candles)")
    market_rules(args.markets)  # a readable exchangeInfo, before the replay exchange starts on it
    try:
        return ftbacktest.run(config, spec, args.datadir, args.markets, args.timerange, args.timeframe,
                              args.export_dir, args.report)
    except Exception as exc:
        from smartpf.reporting.sources import SourceError
        from smartpf.reporting.write import ReportError

        if isinstance(exc, SourceError | ReportError):
            raise UsageError(str(exc)) from exc
        raise
