"""What several commands read the same way: the config's settings, the timeframe, the exchange's rules.
Each turns bad input into a ``UsageError`` (one line, exit 2)."""

from __future__ import annotations

import argparse
import math
import sys
from typing import Any

from smartpf.configfile import ConfigError, load_configs
from smartpf.errors import UsageError
from smartpf.markets import Markets, MarketsError, read_markets
from smartpf_core import parse_settings

MARKETS_HELP = "exchange rules: a raw Binance exchangeInfo JSON or ccxt markets JSON (format recognised)"


def config_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-c", "--config", action="append", required=True, metavar="CONFIG",
                        help="Freqtrade config file; repeat to merge several, later files win")


def load_spec(config_paths: list[str]) -> tuple[dict[str, Any], Any]:
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


def chosen_timeframe(args: argparse.Namespace, config: dict[str, Any]) -> str:
    timeframe = args.timeframe or config.get("timeframe")
    if not timeframe:
        raise UsageError("--timeframe: not given and the config has no 'timeframe' (e.g. 1m, 5m, 1h)")
    return str(timeframe)


def markets_file(path: str) -> Markets:
    try:
        return read_markets(path)
    except MarketsError as exc:
        raise UsageError(str(exc)) from exc


def market_rules(path: str) -> dict:
    return markets_file(path).rules


def pair_rules(path: str, pairs: tuple[str, ...], min_trade: float) -> dict:
    """The rules for the portfolio's pairs; a missing pair is refused, an inactive one or a missing
    minimum is said (on stderr) so that a figure is never read without its caveat."""
    markets = markets_file(path)
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


def number_arg(text: str) -> float:
    try:
        value = float(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from exc
    if value != value or value in (float("inf"), float("-inf")):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return value


def coins_arg(text: str) -> dict[str, float]:
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
