"""The ``smartpf`` command line: validate, backtest, presets, init, minimum, fetch-data, replay, adopt, reset,
and the settings studies (sweep, recommend, study, whatif: each in its own module).

Exit codes: 0 success, 2 bad input (a config, an option, a file, a database that cannot be used), 1 anything
unexpected; ``reconcile`` exits 3 when the exchange, the database and the portfolio differ.
Bad input is reported in one line per problem, never as a traceback.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from smartpf_core import PRESETS, check_config, investment_problems, parse_settings

from . import ftbacktest, paths
from .candles import CandleError, Timerange, candle_file, load_candles
from .configfile import ConfigError, load_configs
from .fastsim import ENGINES, EXECUTIONS, run_backtest
from .freqtrade.config import API_PORT, api_server, freqtrade_config
from .markets import Markets, MarketsError, read_markets
from .portfolio_cli import PortfolioCommandError
from .report import backtest_summary, format_summary, write_records
from .reporting.cli import ReportCommandError, backtest_progress

BAD_INPUT = 2
MARKETS_HELP = "exchange rules: a raw Binance exchangeInfo JSON or ccxt markets JSON (format recognised)"
CHECKED_AT_START = ("checked only at start, against the exchange: the account can fund the investment, and the "
                    "investment clears every pair's minimum order at live prices (estimate it: smartpf minimum)")


class UsageError(Exception):
    """Bad input from the user: printed as one line, exit code 2."""


def _config_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-c", "--config", action="append", required=True, metavar="CONFIG",
                        help="Freqtrade config file; repeat to merge several, later files win")


def _load_spec(config_paths: list[str]) -> tuple[dict[str, Any], Any]:
    try:
        config = load_configs(config_paths)
    except ConfigError as exc:
        raise UsageError(str(exc)) from exc
    result = parse_settings(config)
    for line in result.lines():
        print(line, file=sys.stderr if result.errors else sys.stdout)
    if not result.ok:
        raise UsageError(f"the settings in {', '.join(config_paths)} are not valid (see above)")
    return config, result.spec


def cmd_validate(args: argparse.Namespace) -> int:
    """What the bot refuses, by the same function the strategy calls (smartpf_core.check_config)."""
    try:
        config = load_configs(args.config)
    except ConfigError as exc:
        print(exc)
        return BAD_INPUT
    result = check_config(config)
    for line in result.lines():
        print(line)
    if not result.ok:
        return BAD_INPUT
    spec = result.spec
    assets = ", ".join(f"{c} {p:g} %" for c, p in spec.allocations)
    rule = f"threshold {spec.describe_threshold()}" if spec.mode == "proportional" else (
        f"every {spec.to_dict()['interval']}")
    print(f"valid: {assets}; {spec.investment:g} {spec.stake_currency}; {spec.mode}, {rule}")
    print(CHECKED_AT_START)
    return 0


def _timeframe(args: argparse.Namespace, config: dict[str, Any]) -> str:
    timeframe = args.timeframe or config.get("timeframe")
    if not timeframe:
        raise UsageError("--timeframe: not given and the config has no 'timeframe' (e.g. 1m, 5m, 1h)")
    return str(timeframe)


def _markets(path: str) -> Markets:
    try:
        return read_markets(path)
    except MarketsError as exc:
        raise UsageError(str(exc)) from exc


def _rules(path: str) -> dict:
    return _markets(path).rules


def _pair_rules(path: str, pairs: tuple[str, ...], min_trade: float) -> dict:
    """The rules for the portfolio's pairs; a missing pair is refused, an inactive one or a missing
    minimum is said (on stderr) so that a figure is never read without its caveat."""
    markets = _markets(path)
    missing = [p for p in pairs if p not in markets.rules]
    if missing:
        raise UsageError(f"--markets {path}: no exchange rules for {', '.join(missing)}")
    for pair in pairs:
        if pair in markets.inactive:
            print(f"warning: --markets {path}: {pair} is marked inactive (not trading); the exchange would refuse "
                  "its orders and the bot will not start with it", file=sys.stderr)
        gaps = markets.missing.get(pair, ())
        if "cost.min" in gaps:
            print(f"note: {pair} states no minimum order cost; the configured min_trade {min_trade:g} applies",
                  file=sys.stderr)
        if "amount.min" in gaps:
            print(f"note: {pair} states no minimum amount; its cost minimum and min_trade apply", file=sys.stderr)
    return {p: markets.rules[p] for p in pairs}


def cmd_backtest(args: argparse.Namespace) -> int:
    config, spec = _load_spec(args.config)
    timeframe = _timeframe(args, config)
    rules = _pair_rules(args.markets, spec.pairs, spec.min_trade)
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
    from .reporting.sources import from_state
    from .reporting.write import ReportError, write_report

    data = from_state(result.engine.to_dict(), dict(summary), candles, timeframe,
                      "Smart Portfolio — core backtest", f"smartpf backtest ({summary['engine']} engine, "
                      f"{summary['execution']})")
    try:
        report = write_report(data, out)
    except ReportError as exc:
        raise UsageError(str(exc)) from exc
    print(f"wrote {report['page']} and {len(report['pngs'])} PNGs", file=sys.stderr)
    return {"premium_split": report["premium_split"], "report": report["page"]}


def cmd_presets(args: argparse.Namespace) -> int:
    for preset in PRESETS.values():
        assets = ", ".join(f"{c} {p:g} %" for c, p in preset.assets.items())
        how = f"threshold {preset.threshold:g} points" if preset.mode == "proportional" else f"every {preset.interval}"
        print(f"{preset.name:16} {preset.title}: {assets} ({preset.mode}, {how})")
        print(f"{'':16} {preset.description}")
    print("\nStart one with: smartpf init --preset NAME --investment AMOUNT -o user_data/config.json")
    return 0


def _number_arg(text: str) -> float:
    try:
        value = float(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from exc
    if value != value or value in (float("inf"), float("-inf")):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return value


def _coins_arg(text: str) -> dict[str, float]:
    """``BTC=40,ETH=30,SOL=30``: coin and weight in percent, in order."""
    coins: dict[str, float] = {}
    for part in text.split(","):
        coin, sep, weight = part.partition("=")
        coin = coin.strip().upper()
        try:
            value = float(weight)
        except ValueError:
            value = math.nan
        if not sep or not coin.isalnum() or not math.isfinite(value) or value <= 0:
            raise argparse.ArgumentTypeError(f"{part.strip()!r}: expected COIN=PERCENT with a positive percent, "
                                             "e.g. BTC=40,ETH=30,SOL=30")
        if coin in coins:
            raise argparse.ArgumentTypeError(f"{coin} is given twice")
        coins[coin] = value
    return coins


def _init_section(args: argparse.Namespace) -> tuple[dict[str, Any], str]:
    """The smart_portfolio section from a preset or --coins, with the rule and exits given on the command line."""
    if args.coins is not None:
        section: dict[str, Any] = {"assets": dict(args.coins), "investment": args.investment, "mode": "proportional",
                                   "threshold": 3.0, "threshold_type": "absolute", "check_interval": "1m",
                                   "min_trade": 5, "on_exit": "sell"}
        title = "your basket " + ", ".join(f"{c} {w:g} %" for c, w in args.coins.items())
    else:
        preset = PRESETS.get(args.preset)
        if preset is None:
            raise UsageError(f"--preset {args.preset!r}: unknown; choose one of {', '.join(PRESETS)}")
        section, title = preset.settings(args.investment), preset.title
    if args.interval is not None and args.threshold_type is not None:
        raise UsageError("--threshold-type: only with a threshold, not with --interval (a schedule has none)")
    if args.interval is not None:
        for key in ("threshold", "threshold_type", "check_interval"):
            section.pop(key, None)
        section.update({"mode": "scheduled", "interval": args.interval})
    elif args.threshold is not None or args.threshold_type is not None:
        section.pop("interval", None)
        section["mode"] = "proportional"
        section.setdefault("check_interval", "1m")
        if args.threshold is not None:
            section["threshold"] = args.threshold
        if args.threshold_type is not None:
            section["threshold_type"] = args.threshold_type
    if args.take_profit is not None:
        section["take_profit"] = args.take_profit
    if args.stop_loss is not None:
        section["stop_loss"] = args.stop_loss
    return section, title


def _check_exchange(name: str) -> None:
    """An exchange both ccxt and Freqtrade can trade spot on (Freqtrade's own check)."""
    import ccxt
    from freqtrade.exchange.exchange_utils import validate_exchange

    if name not in ccxt.exchanges:
        raise UsageError(f"--exchange {name!r}: not an exchange ccxt knows (e.g. binance, okx, xt, kraken, bybit)")
    usable, reason, _futures, _module = validate_exchange(name)
    if not usable:
        raise UsageError(f"--exchange {name}: Freqtrade cannot trade on it ({reason})")


def cmd_init(args: argparse.Namespace) -> int:
    section, title = _init_section(args)
    stake = args.stake_currency.strip().upper()
    exchange = args.exchange.strip().lower()
    _check_exchange(exchange)
    if not 1 <= args.api_port <= 65535:
        raise UsageError(f"--api-port {args.api_port}: must be a TCP port, 1 to 65535")
    config = freqtrade_config(section, stake_currency=stake, timeframe=args.timeframe, bot_name=args.bot_name,
                              exchange=exchange, api=api_server(args.api_port))
    result = check_config(config)
    if not result.ok:
        for line in result.lines():
            print(line, file=sys.stderr)
        return BAD_INPUT
    _init_minimum_check(args, result.spec, stake, exchange)
    text = json.dumps(config, indent=4) + "\n"
    if args.output in (None, "-"):
        sys.stdout.write(text)
        return 0
    out = Path(args.output)
    if out.is_dir():
        raise UsageError(f"-o {out}: is a directory; give the config file's name, e.g. {out / 'config.json'}")
    if out.exists() and not args.force:
        raise UsageError(f"-o {out}: the file exists; pass --force to overwrite it")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        # readable by its owner only: it holds the REST API's password (and, later, the exchange keys)
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(out, 0o600)
    except OSError as exc:
        raise UsageError(f"-o {out}: cannot write the file ({exc.strerror or exc})") from exc
    print(f"wrote {out}: {title}, {args.investment:g} {stake} on {exchange}, dry-run (wallet "
          f"{config['dry_run_wallet']} {stake}), REST API on 127.0.0.1:{config['api_server']['listen_port']} "
          f"(file mode 600). Next: smartpf validate -c {out}")
    return 0


def _init_minimum_check(args: argparse.Namespace, spec: Any, stake: str, exchange: str = "binance") -> None:
    """The basket against the exchange's markets, and the minimum investment at the latest candles' prices.
    A --datadir or --markets given on purpose must work; when the defaults are missing (a clone without the
    shared data, an exchange without a markets file here), say that the check is left to start."""
    explicit = args.datadir is not None or args.markets is not None
    datadir = Path(args.datadir if args.datadir is not None else paths.DEFAULT_DATADIR)
    found = paths.markets_file(exchange)
    markets = args.markets if args.markets is not None else str(found or paths.DEFAULT_MARKETS)
    if args.datadir is not None and not datadir.is_dir():
        raise UsageError(f"--datadir {datadir}: no such directory (candles to take current prices from)")
    if args.markets is not None or found is not None:
        read = _markets(markets)
        rules = read.rules
        absent = [p for p in spec.pairs if p not in rules]
        if absent and args.markets is not None:
            raise UsageError(f"--markets {markets}: no exchange rules for {', '.join(absent)} (not a spot market "
                             f"on {exchange} there); choose coins it lists against {stake}")
        if absent:  # a snapshot of some markets only: the bot checks every pair against the exchange at start
            print(f"warning: {', '.join(absent)}: not in the markets snapshot {markets} ({len(rules)} spot pairs); "
                  f"make sure {exchange} lists it (the bot refuses to start otherwise)", file=sys.stderr)
        inactive = [p for p in spec.pairs if p in read.inactive]
        if inactive and args.markets is not None:
            raise UsageError(f"--markets {markets}: {', '.join(inactive)} marked inactive (not trading) on {exchange}")
        if inactive:
            print(f"warning: {', '.join(inactive)}: marked inactive (not trading) in the markets snapshot {markets}; "
                  f"the bot refuses to start if {exchange} still says so", file=sys.stderr)
    else:
        rules = {}
    prices = _latest_prices(datadir, spec.pairs) if datadir.is_dir() else None
    missing = [p for p in spec.pairs if p not in rules] if rules else list(spec.pairs)
    if prices is None or missing:
        label = "--datadir " if prices is None and args.datadir else "--markets " if args.markets else ""
        where = (f"no candles for every pair in {label}{datadir}" if prices is None else
                 f"no exchange rules for {', '.join(missing)} in {label}{markets}")
        if explicit:
            raise UsageError(f"the minimum investment cannot be checked: {where}")
        print(f"note: the minimum investment was not checked ({where}); the bot checks it at start",
              file=sys.stderr)
        return
    minimum, problems = investment_problems(spec, rules, prices)
    for problem in problems:
        if problem.level == "error":
            raise UsageError(f"--investment {args.investment:g}: {problem.allowed}")
        print(problem, file=sys.stderr)
    print(f"minimum investment {minimum.initial:.2f} {stake}; rebalances at the threshold "
          f"trade from {minimum.rebalance:.2f} {stake}", file=sys.stderr)


def _latest_prices(datadir: Path, pairs: tuple[str, ...]) -> dict[str, float] | None:
    import pandas as pd

    prices: dict[str, float] = {}
    for pair in pairs:
        for tf in ("1m", "5m", "15m", "1h"):
            path = candle_file(datadir, pair, tf)
            if path.exists():
                prices[pair] = float(pd.read_feather(path, columns=["close"])["close"].iloc[-1])
                break
        else:
            return None
    return prices


def _price_arg(text: str) -> tuple[str, float]:
    pair, sep, value = text.partition("=")
    try:
        price = float(value)
    except ValueError:
        price = 0.0
    if not sep or "/" not in pair or not price > 0:
        raise argparse.ArgumentTypeError(f"{text!r}: expected PAIR=PRICE with a positive price, e.g. BTC/USDT=37000")
    return pair.strip(), price


def cmd_minimum(args: argparse.Namespace) -> int:
    config, spec = _load_spec(args.config)
    rules = _pair_rules(args.markets, spec.pairs, spec.min_trade)
    given = dict(args.price or [])
    unknown = [p for p in given if p not in spec.pairs]
    if unknown:
        raise UsageError(f"--price {unknown[0]}: not a pair of this portfolio ({', '.join(spec.pairs)})")
    prices = dict(given)
    source = "--price"
    if len(given) < len(spec.pairs):
        candles = _latest_prices(Path(args.datadir), tuple(p for p in spec.pairs if p not in given))
        if candles is None:
            raise UsageError(f"--datadir {args.datadir}: no candles for every pair to take prices from "
                             "(or give them: --price BTC/USDT=37000)")
        prices.update(candles)
        source = f"last candle close in {args.datadir}" + (", others --price" if given else "")
    m, problems = investment_problems(spec, rules, prices)
    cur = spec.stake_currency
    print(f"prices:             {', '.join(f'{p} {prices[p]:g}' for p in spec.pairs)} ({source})")
    print(f"minimum investment: {m.initial:.2f} {cur} (every initial order clears its pair's minimum; "
          f"binding coin {m.binding_pair()})")
    print(f"rebalance minimum:  {m.rebalance:.2f} {cur} (below this a rebalance at the threshold of "
          f"{spec.describe_threshold()} is too small to trade)")
    print(f"your investment:    {spec.investment:g} {cur}")
    for problem in problems:
        print(problem)
    return BAD_INPUT if any(p.level == "error" for p in problems) else 0


def cmd_fetch_data(args: argparse.Namespace) -> int:
    """Fetch the candles a config needs with Freqtrade's own downloader (a user's clone has no ../shared)."""
    config, spec = _load_spec(args.config)
    timeframe = _timeframe(args, config)
    cmd = [sys.executable, "-m", "freqtrade", "download-data"]
    for path in args.config:
        cmd += ["-c", path]
    cmd += ["--pairs", *spec.pairs, "-t", timeframe, "--datadir", args.datadir, "--data-format-ohlcv", "feather"]
    timerange = args.timerange or config.get("timerange")
    cmd += ["--timerange", timerange] if timerange else ["--days", str(args.days)]
    print("running:", " ".join(cmd), flush=True)
    return subprocess.call(cmd)


def cmd_ft_backtest(args: argparse.Namespace) -> int:
    config, spec = _load_spec(args.config)
    checked = check_config({**config, "timeframe": args.timeframe} if args.timeframe else config)
    if checked.errors:  # what SmartPortfolio would refuse at start, before the replay exchange starts
        for line in checked.lines():
            print(line, file=sys.stderr)
        raise UsageError(f"the bot would not start with {', '.join(args.config)} (see above)")
    if not Path(args.datadir).is_dir():
        raise UsageError(f"--datadir {args.datadir}: no such directory (Freqtrade-format candles)")
    _rules(args.markets)  # a readable exchangeInfo, before the replay exchange starts on it
    try:
        return ftbacktest.run(config, spec, args.datadir, args.markets, args.timerange, args.timeframe,
                              args.export_dir, args.report)
    except Exception as exc:
        from .reporting.sources import SourceError
        from .reporting.write import ReportError

        if isinstance(exc, SourceError | ReportError):
            raise UsageError(str(exc)) from exc
        raise


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="smartpf", description="Smart Portfolio: a crypto rebalancing bot.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("validate", help="check the smart_portfolio section of Freqtrade config files")
    _config_arg(p)
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("backtest", help="replay the core engine over Freqtrade-format candles")
    _config_arg(p)
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

    p = sub.add_parser("presets", help="list the ready-made portfolios")
    p.set_defaults(func=cmd_presets)

    p = sub.add_parser("init", help="write a complete Freqtrade config (dry-run, REST API on 127.0.0.1) for a "
                       "preset or your own coins")
    basket = p.add_mutually_exclusive_group(required=True)
    basket.add_argument("--preset", help="a ready portfolio (smartpf presets lists them)")
    basket.add_argument("--coins", type=_coins_arg, metavar="COIN=PCT,...",
                        help="your own basket, weights in percent adding up to 100, e.g. BTC=40,ETH=30,SOL=30")
    p.add_argument("--exchange", default="binance",
                   help="any spot exchange ccxt and Freqtrade support (default binance; e.g. okx, xt, kraken)")
    p.add_argument("--investment", required=True, type=_number_arg, help="the amount to invest, in the stake currency")
    rule = p.add_mutually_exclusive_group()
    rule.add_argument("--threshold", type=_number_arg, metavar="T",
                      help="rebalance when a coin's weight is T away from its target (default 3, presets their own)")
    rule.add_argument("--interval", metavar="INTERVAL", help="rebalance on a schedule instead, e.g. 1d, 7d, 12h")
    p.add_argument("--threshold-type", choices=("absolute", "relative"),
                   help="absolute: T percentage points (default); relative: T %% of each target")
    p.add_argument("--take-profit", type=_number_arg, metavar="PCT",
                   help="sell everything once the portfolio's profit reaches PCT %%")
    p.add_argument("--stop-loss", type=_number_arg, metavar="PCT",
                   help="sell everything once the portfolio's loss reaches PCT %%")
    p.add_argument("-o", "--output", help="file to write (default: print)")
    p.add_argument("--force", action="store_true", help="overwrite an existing file")
    p.add_argument("--stake-currency", default="USDT", help="the currency invested and quoted (default USDT)")
    p.add_argument("--timeframe", default="1m", help="Freqtrade's candle size (default 1m)")
    p.add_argument("--bot-name", default="smartpf", help="Freqtrade's bot_name (default smartpf)")
    p.add_argument("--api-port", type=int, default=API_PORT,
                   help=f"the bot's REST API port on 127.0.0.1 (default {API_PORT}; one per bot)")
    p.add_argument("--markets", help="the exchange's market rules: raw Binance exchangeInfo or ccxt markets JSON "
                   "(default: the file for --exchange in ../shared/markets or tests/data/ccxt-markets, if any)")
    p.add_argument("--datadir", help=f"candles to take current prices from (default: {paths.DEFAULT_DATADIR})")
    p.set_defaults(func=cmd_init)

    p = sub.add_parser("minimum", help="the minimum investment for a config's portfolio")
    _config_arg(p)
    p.add_argument("--markets", default=str(paths.DEFAULT_MARKETS), help=MARKETS_HELP)
    p.add_argument("--datadir", default=str(paths.DEFAULT_DATADIR), help="candles to take current prices from")
    p.add_argument("--price", action="append", type=_price_arg, metavar="PAIR=PRICE",
                   help="a pair's price instead of its last candle close (repeat per pair)")
    p.set_defaults(func=cmd_minimum)

    p = sub.add_parser("fetch-data", help="download the candles a config needs (freqtrade download-data)")
    _config_arg(p)
    p.add_argument("--datadir", default=str(paths.USER_DATA / "data" / "binance"),
                   help="where to write the candles (default user_data/data/binance)")
    p.add_argument("--timeframe", help="candle size, default the config's timeframe")
    p.add_argument("--timerange", help="YYYYMMDD-YYYYMMDD (default: the config's, else the last --days)")
    p.add_argument("--days", type=int, default=30, help="days back to fetch when no timerange (default 30)")
    p.set_defaults(func=cmd_fetch_data)

    p = sub.add_parser("ft-backtest", help="freqtrade backtesting of SmartPortfolio, offline (replay exchange)")
    ftbacktest.add_arguments(p)
    p.set_defaults(func=cmd_ft_backtest)

    from . import portfolio_cli

    p = sub.add_parser("adopt", help="take a trade database's open trades as the portfolio (after a lost state)")
    portfolio_cli.add_arguments(p)
    p.set_defaults(func=portfolio_cli.cmd_adopt)

    p = sub.add_parser("reset", help="archive the portfolio of a trade database; the next start begins a new one")
    portfolio_cli.add_arguments(p)
    p.add_argument("--force", action="store_true", help="even if the bot seems to be running")
    p.set_defaults(func=portfolio_cli.cmd_reset)

    p = sub.add_parser("status", help="the portfolio: value, profit, HODL, each coin's actual vs target weight")
    portfolio_cli.add_arguments(p)
    p.add_argument("--json", action="store_true", help="the view as a JSON object")
    p.set_defaults(func=portfolio_cli.cmd_status)

    p = sub.add_parser("why", help="the latest reasons for not rebalancing, with their numbers")
    portfolio_cli.add_arguments(p)
    p.set_defaults(func=portfolio_cli.cmd_why)

    p = sub.add_parser("records", help="the trading records: one row per filled order")
    portfolio_cli.add_arguments(p)
    p.add_argument("--since", help="only records at or after this ISO-8601 time")
    p.add_argument("--csv", metavar="FILE", help="write them to FILE (default: print)")
    p.set_defaults(func=portfolio_cli.cmd_records)

    from .reporting import cli as report_cli

    p = sub.add_parser("report", help="charts and totals of a bot (its trade database) or of a Freqtrade backtest "
                       "result, as DIR/report.html and PNGs")
    report_cli.add_arguments(p)
    p.set_defaults(func=report_cli.cmd_report)

    from . import reconcile_cli

    p = sub.add_parser("reconcile", help="the exchange's balances, the trade database and the portfolio, compared")
    portfolio_cli.add_arguments(p)
    p.add_argument("--json", action="store_true", help='{"coins": [{"coin", "exchange", "database", "state", '
                   '"difference"}], "orphans": [...]}')
    p.add_argument("--apply", action="store_true", help="take the account's amounts as the truth where it holds "
                   "less than the portfolio (the bot stopped); a `diverged` bot then resumes")
    p.add_argument("--force", action="store_true", help="with --apply: even if the portfolio was saved in the "
                   "last 2 minutes (its bot may be running)")
    p.set_defaults(func=reconcile_cli.cmd_reconcile)

    from . import steer

    p = sub.add_parser("add", help="invest AMOUNT more in the running portfolio (config edit + reload)")
    portfolio_cli.add_arguments(p)
    steer.add_arguments(p)
    p.add_argument("amount", metavar="AMOUNT", help="in the stake currency; bought towards the target weights")
    p.set_defaults(func=steer.cmd_add)

    p = sub.add_parser("withdraw", help="take AMOUNT out of the running portfolio (config edit + reload)")
    portfolio_cli.add_arguments(p)
    steer.add_arguments(p)
    p.add_argument("amount", metavar="AMOUNT",
                   help="in the stake currency; idle cash first, then sold towards the targets")
    p.set_defaults(func=steer.cmd_withdraw)

    p = sub.add_parser("set", help="set the portfolio's take-profit / stop-loss, threshold, interval or weights "
                       "(config edit + reload)")
    portfolio_cli.add_arguments(p)
    steer.add_arguments(p)
    p.add_argument("--take-profit", metavar="PCT", help="percent, or none")
    p.add_argument("--stop-loss", metavar="PCT", help="percent, or none")
    p.add_argument("--threshold", type=_number_arg, metavar="T", help="rebalance at this deviation (proportional)")
    p.add_argument("--threshold-type", choices=("absolute", "relative"),
                   help="absolute: percentage points; relative: percent of each target")
    p.add_argument("--interval", metavar="INTERVAL", help="rebalance on this schedule instead (scheduled), e.g. 1d")
    p.add_argument("--weights", type=_coins_arg, metavar="COIN=PCT,...",
                   help="new target weights for the portfolio's coins, e.g. BTC=50,ETH=30,SOL=20")
    p.set_defaults(func=steer.cmd_set)

    p = sub.add_parser("terminate", help="terminate the running portfolio, selling or keeping the coins")
    portfolio_cli.add_arguments(p)
    steer.add_arguments(p)
    how = p.add_mutually_exclusive_group(required=True)
    how.add_argument("--sell", action="store_true", help="sell every coin to the stake currency")
    how.add_argument("--keep", action="store_true", help="stop trading, keep the coins")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    p.set_defaults(func=steer.cmd_terminate)

    from . import sweep

    p = sub.add_parser("sweep", help="many settings x baskets x windows on the fast engine, in parallel; ranked")
    _config_arg(p)
    sweep.add_arguments(p, MARKETS_HELP)
    p.set_defaults(func=sweep.cmd_sweep)

    from . import recommend

    p = sub.add_parser("recommend", help="rank settings for the config's basket over many windows, with the evidence")
    _config_arg(p)
    recommend.add_arguments(p, MARKETS_HELP)
    p.set_defaults(func=recommend.cmd_recommend)

    from . import whatif

    p = sub.add_parser("whatif", help="the running portfolio's own life (start, deposits, withdrawals) replayed "
                       "under other settings, beside what it really made")
    portfolio_cli.add_arguments(p)
    whatif.add_arguments(p, MARKETS_HELP)
    p.set_defaults(func=whatif.cmd_whatif)

    from . import study

    p = sub.add_parser("study", help="the rebalancing study: random baskets x settings x one-year windows -> "
                       "docs/research.md")
    study.add_arguments(p)
    p.set_defaults(func=study.cmd_study)

    from . import preflight

    p = sub.add_parser("preflight", help="before going live: settings, dry_run false, keys, REST API, exchange, "
                       "balance, minimums, key permissions")
    _config_arg(p)
    p.set_defaults(func=preflight.cmd_preflight)

    try:
        from .replay import cli as replay_cli
    except ImportError:
        replay_cli = None
    if replay_cli is not None:
        p = sub.add_parser("replay", help="run the offline replay exchange (Binance, OKX or XT API)")
        replay_cli.add_arguments(p)
        p.set_defaults(func=replay_cli.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code = int(args.func(args) or 0)
        sys.stdout.flush()  # a closed pipe (`smartpf status | head`) shows here, not at exit
        return code
    except (UsageError, PortfolioCommandError, ReportCommandError) as exc:
        print(f"smartpf {args.command}: {exc}", file=sys.stderr)
        return BAD_INPUT
    except BrokenPipeError:
        # the reader went away (`| head`): end quietly, and keep Python's exit flush from complaining
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        if _is_database_error(exc):
            from .freqtrade.door import reason
            from .portfolio_cli import OPENED

            where = f" {OPENED[0]}" if OPENED else ""
            print(f"smartpf {args.command}: the trade database{where} cannot be used: {reason(exc)}",
                  file=sys.stderr)
            return BAD_INPUT
        return _unexpected(args, exc)


def _is_database_error(exc: BaseException) -> bool:
    """A corrupt, locked or unreachable database (SQLAlchemy's or the driver's error), not a bug of ours."""
    import sqlite3

    try:
        from sqlalchemy.exc import SQLAlchemyError
    except ImportError:
        return isinstance(exc, sqlite3.Error)
    return isinstance(exc, SQLAlchemyError | sqlite3.Error)


def _unexpected(args: argparse.Namespace, exc: Exception) -> int:
    """Last resort: a message, not a traceback (SMARTPF_DEBUG=1 shows it)."""
    if os.environ.get("SMARTPF_DEBUG"):
        raise exc
    print(f"smartpf {args.command}: unexpected error: {type(exc).__name__}: {exc} "
          "(set SMARTPF_DEBUG=1 for details)", file=sys.stderr)
    return 1

if __name__ == "__main__":
    sys.exit(main())
