"""The configuration commands: ``validate``, ``presets``, ``init``, ``minimum``, ``fetch-data`` and ``preflight``
(a config, its coins against the exchange's rules and the minimum investment, before a bot starts)."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from smartpf import paths
from smartpf.backtest.candles import candle_file
from smartpf.cli.inputs import (
    MARKETS_HELP,
    chosen_timeframe,
    coins_arg,
    config_arg,
    load_spec,
    markets_file,
    number_arg,
    pair_rules,
)
from smartpf.configfile import ConfigError, load_configs
from smartpf.errors import UsageError
from smartpf.freqtrade.config import API_PORT, api_server, freqtrade_config
from smartpf_core import PRESETS, check_config, investment_problems

BAD_INPUT = 2
CHECKED_AT_START = ("checked only at start, against the exchange: the account can fund the investment, and the "
                    "investment clears every pair's minimum order at live prices (estimate it: smartpf minimum)")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("validate", help="check the smart_portfolio section of Freqtrade config files")
    config_arg(p)
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("presets", help="list the ready-made portfolios")
    p.set_defaults(func=cmd_presets)

    p = sub.add_parser("init", help="write a complete Freqtrade config (dry-run, REST API on 127.0.0.1) for a "
                       "preset or your own coins")
    basket = p.add_mutually_exclusive_group(required=True)
    basket.add_argument("--preset", help="a ready portfolio (smartpf presets lists them)")
    basket.add_argument("--coins", type=coins_arg, metavar="COIN=PCT,...",
                        help="your own basket, weights in percent adding up to 100, e.g. BTC=40,ETH=30,SOL=30")
    p.add_argument("--exchange", default="binance",
                   help="any spot exchange ccxt and Freqtrade support (default binance; e.g. okx, xt, kraken)")
    p.add_argument("--investment", required=True, type=number_arg, help="the amount to invest, in the stake currency")
    rule = p.add_mutually_exclusive_group()
    rule.add_argument("--threshold", type=number_arg, metavar="T",
                      help="rebalance when a coin's weight is T away from its target (default 3, presets their own)")
    rule.add_argument("--interval", metavar="INTERVAL", help="rebalance on a schedule instead, e.g. 1d, 7d, 12h")
    p.add_argument("--threshold-type", choices=("absolute", "relative"),
                   help="absolute: T percentage points (default); relative: T %% of each target")
    p.add_argument("--take-profit", type=number_arg, metavar="PCT",
                   help="sell everything once the portfolio's profit reaches PCT %%")
    p.add_argument("--stop-loss", type=number_arg, metavar="PCT",
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
    config_arg(p)
    p.add_argument("--markets", default=str(paths.DEFAULT_MARKETS), help=MARKETS_HELP)
    p.add_argument("--datadir", default=str(paths.DEFAULT_DATADIR), help="candles to take current prices from")
    p.add_argument("--price", action="append", type=_price_arg, metavar="PAIR=PRICE",
                   help="a pair's price instead of its last candle close (repeat per pair)")
    p.set_defaults(func=cmd_minimum)

    p = sub.add_parser("fetch-data", help="download the candles a config needs (freqtrade download-data)")
    config_arg(p)
    p.add_argument("--datadir", default=str(paths.USER_DATA / "data" / "binance"),
                   help="where to write the candles (default user_data/data/binance)")
    p.add_argument("--timeframe", help="candle size, default the config's timeframe")
    p.add_argument("--timerange", help="YYYYMMDD-YYYYMMDD (default: the config's, else the last --days)")
    p.add_argument("--days", type=int, default=30, help="days back to fetch when no timerange (default 30)")
    p.set_defaults(func=cmd_fetch_data)

    from smartpf.cli import preflight

    p = sub.add_parser("preflight", help="before going live: settings, dry_run false, keys, REST API, exchange, "
                       "balance, minimums, key permissions")
    config_arg(p)
    p.set_defaults(func=preflight.cmd_preflight)



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


def cmd_presets(args: argparse.Namespace) -> int:
    for preset in PRESETS.values():
        assets = ", ".join(f"{c} {p:g} %" for c, p in preset.assets.items())
        how = f"threshold {preset.threshold:g} points" if preset.mode == "proportional" else f"every {preset.interval}"
        print(f"{preset.name:16} {preset.title}: {assets} ({preset.mode}, {how})")
        print(f"{'':16} {preset.description}")
    print("\nStart one with: smartpf init --preset NAME --investment AMOUNT -o user_data/config.json")
    return 0


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
        read = markets_file(markets)
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
    prices = latest_prices(datadir, spec.pairs) if datadir.is_dir() else None
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


def latest_prices(datadir: Path, pairs: tuple[str, ...]) -> dict[str, float] | None:
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
    config, spec = load_spec(args.config)
    rules = pair_rules(args.markets, spec.pairs, spec.min_trade)
    given = dict(args.price or [])
    unknown = [p for p in given if p not in spec.pairs]
    if unknown:
        raise UsageError(f"--price {unknown[0]}: not a pair of this portfolio ({', '.join(spec.pairs)})")
    prices = dict(given)
    source = "--price"
    if len(given) < len(spec.pairs):
        candles = latest_prices(Path(args.datadir), tuple(p for p in spec.pairs if p not in given))
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
    config, spec = load_spec(args.config)
    timeframe = chosen_timeframe(args, config)
    cmd = [sys.executable, "-m", "freqtrade", "download-data"]
    for path in args.config:
        cmd += ["-c", path]
    cmd += ["--pairs", *spec.pairs, "-t", timeframe, "--datadir", args.datadir, "--data-format-ohlcv", "feather"]
    timerange = args.timerange or config.get("timerange")
    cmd += ["--timerange", timerange] if timerange else ["--days", str(args.days)]
    print("running:", " ".join(cmd), flush=True)
    return subprocess.call(cmd)
