"""``smartpf replay``: argument parsing, validation with one-line messages, and the serve loop.

``smartpf/cli/replay.py`` registers :func:`add_arguments` and :func:`run` as the ``replay`` command;
``python -m smartpf.replay`` does the same on its own.
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import sys
import threading
import time
from pathlib import Path

from smartpf.errors import ReplayUsageError as UsageError  # a bad option: one line, exit 2
from smartpf.paths import DEFAULT_DATADIR, DEFAULT_MARKETS
from smartpf.replay.exchange.amounts import dec
from smartpf.replay.exchange.clock import Clock, default_start, history_clock, iso, parse_iso, replay_clock
from smartpf.replay.exchange.data import DataError, PairData, load_market_data
from smartpf.replay.exchange.filters import SymbolRules
from smartpf.replay.exchange.ledger import LedgerError
from smartpf.replay.exchange.market import Market
from smartpf.replay.exchange.scenario import Scenario, ScenarioError, load_scenario
from smartpf.replay.exchange.simulator import ExchangeSimulator, parse_balances
from smartpf.replay.exchange.timeframes import BINANCE_INTERVALS, sort_timeframes
from smartpf.replay.faults import FaultError, Faults
from smartpf.replay.protocols import binance, okx, okx_private, xt, xt_private
from smartpf.replay.protocols.public import ProtocolSetupError
from smartpf.replay.protocols.signed import SignedFront
from smartpf.replay.server import ReplayState, is_loopback, make_server

DEFAULT_PORT = 8765
DEFAULT_WARMUP = 1000
PROG = "smartpf replay"
# --protocol: the exchange's REST API served (public; with --accounts also its signed spot API).
PROTOCOLS = {"binance": None, "okx": okx.OkxPublic, "xt": xt.XtPublic}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the replay options (values are validated in :func:`run`, so errors stay one line)."""
    a = parser.add_argument
    a("--datadir", default=str(DEFAULT_DATADIR), help="Freqtrade datadir with <BASE>_<QUOTE>-<tf>.feather "
      "candles (default: %(default)s)")
    a("--markets", default=str(DEFAULT_MARKETS), help="raw Binance exchangeInfo JSON, or ccxt markets JSON "
      "served as one (default: %(default)s)")
    a("--protocol", default="binance", help="the exchange API to speak: binance, okx or xt (public and, with "
      "--accounts, signed; okx and xt need --markets of that exchange's ccxt markets file) (default: %(default)s)")
    a("--host", default="127.0.0.1", help="address to bind (default: %(default)s)")
    a("--port", default=str(DEFAULT_PORT), help="TCP port, 0 = pick a free one (default: %(default)s)")
    a("--clock", default="history", help="history (original timestamps, all data) or replay (now = --start, "
      "advancing in real time) (default: %(default)s)")
    a("--start", default=None, help="replay clock: historical ISO 8601 instant mapped onto now (default: the "
      "earliest instant with --warmup candles of the shortest timeframe for every pair)")
    a("--warmup", default=str(DEFAULT_WARMUP), help="replay clock: candles of history before the default "
      "start (default: %(default)s)")
    a("--scenario", default=None, help="JSON scenario file: price events, flat prices, outage/frozen/latency "
      "windows (see docs/replay.md)")
    a("--fail-rate", default="0", help="fraction 0..1 of requests answered with a Binance-shaped 5xx/429")
    a("--seed", default=None, help="seed for --fail-rate (integer; default: random)")
    a("--latency", default="0", help="milliseconds added to every request (or only --latency-paths)")
    a("--latency-paths", default=None, help="comma-separated paths the latency applies to, e.g. /api/v3/depth")
    a("--pairs", default=None, help="comma-separated pairs to serve, e.g. BTC/USDT,ETH/USDT (default: all "
      "pairs that have candles and market rules)")
    a("--timeframes", default=None, help="comma-separated timeframes to load, e.g. 1m,1h (default: all)")
    a("--all-markets", action="store_true", help="also list markets that have no candles")
    a("--log-requests", action="store_true", help="log every request on stderr")
    a("--accounts", action="store_true", help="serve the protocol's signed spot API (balances, orders, trades) "
      "over an exchange simulator, so freqtrade can trade with dry_run false")
    a("--api-key", default=None, help="--accounts: the API key accepted (default: the one in "
      "user_data/config.replay-live[-okx|-xt].json)")
    a("--api-secret", default=None, help="--accounts: the API secret accepted (default: the one in "
      "user_data/config.replay-live[-okx|-xt].json)")
    a("--api-passphrase", default=None, help="--accounts --protocol okx: the passphrase accepted (default: the "
      "one in user_data/config.replay-live-okx.json)")
    a("--balance", action="append", default=None, metavar="ASSET=AMOUNT", help="--accounts: starting balance, "
      "repeatable (default: USDT=10000); an existing --ledger file wins")
    a("--fee", default="0.001", help="--accounts: fee rate per trade (default: %(default)s)")
    a("--fee-asset", default="received", help="--accounts: received (a buy pays its fee in the coin received, "
      "Binance's default without BNB) or quote (default: %(default)s)")
    a("--partial-fills", default="1", help="--accounts: fill every order in N trades, one second apart "
      "(default: %(default)s)")
    a("--ledger", default=None, help="--accounts: JSON file keeping balances, orders and trades across restarts")
    a("--lost-response-rate", default="0", help="--accounts: fraction 0..1 of placed orders (POST /api/v3/order, "
      "OKX's trade/batch-orders, XT's /v4/order) "
      "accepted and filled whose answer is lost (the connection closes without one)")
    a("--order-error-rate", default="0", help="--accounts: fraction 0..1 of order placements refused before the "
      "exchange acts, with one of --order-errors")
    a("--order-errors", default=None, help="comma-separated kinds for --order-error-rate: 5xx, 429 (with "
      "Retry-After), -1021 (default: all three)")
    a("--expire-after-partial", action="store_true", help="--accounts: market orders fill about half, the rest "
      "expires")
    a("--admin-token", default=None, help="token required on /_smartpf/ (header X-Smartpf-Token); required when "
      "--host is not loopback (default there: $SMARTPF_REPLAY_TOKEN, else a random one printed at start)")
    a("--idle-timeout", default="30", help="seconds an idle or half-sent connection is kept (default: %(default)s)")
    a("--max-connections", default="64", help="connections served at once; more get 503 (default: %(default)s)")

def _number(value: str, option: str, allowed: str, kind: type = float) -> float:
    try:
        return kind(value)
    except (TypeError, ValueError):
        raise UsageError(f"{option} {value!r}: must be {allowed}") from None

def _csv(value: str | None) -> list[str] | None:
    items = [x.strip() for x in value.split(",") if x.strip()] if value else []
    return items or None

def _build(args: argparse.Namespace, started_ms: int) -> tuple[Market, Faults, int, str]:
    """Validate every option and load the data; UsageError/DataError/ScenarioError on bad input."""
    port = int(_number(args.port, "--port", "an integer 0..65535", int))
    if not 0 <= port <= 65535:
        raise UsageError(f"--port {args.port!r}: must be an integer 0..65535")
    if args.protocol not in PROTOCOLS:
        raise UsageError(f"--protocol {args.protocol!r}: must be one of {', '.join(PROTOCOLS)}")
    if args.clock not in ("history", "replay"):
        raise UsageError(f"--clock {args.clock!r}: must be history or replay")
    fail_rate = _number(args.fail_rate, "--fail-rate", "a number between 0 and 1")
    if not 0.0 <= fail_rate <= 1.0:
        raise UsageError(f"--fail-rate {args.fail_rate!r}: must be a number between 0 and 1")
    latency = _number(args.latency, "--latency", "milliseconds >= 0")
    if not 0 <= latency <= 600_000:
        raise UsageError(f"--latency {args.latency!r}: must be milliseconds between 0 and 600000")
    seed = None if args.seed is None else int(_number(args.seed, "--seed", "an integer", int))
    warmup = int(_number(args.warmup, "--warmup", "an integer >= 0", int))
    if warmup < 0:
        raise UsageError(f"--warmup {args.warmup!r}: must be an integer >= 0")
    start_ms = None
    if args.start is not None:
        if args.clock != "replay":
            raise UsageError(f"--start {args.start!r}: only with --clock replay")
        try:
            start_ms = parse_iso(args.start)
        except ValueError:
            raise UsageError(f"--start {args.start!r}: must be an ISO 8601 date or date-time, "
                             "e.g. 2026-04-01 or 2026-04-01T12:00:00Z") from None
    timeframes = _csv(args.timeframes)
    for tf in timeframes or []:
        if tf not in BINANCE_INTERVALS:
            raise UsageError(f"--timeframes {tf!r}: must be Binance intervals like {','.join(BINANCE_INTERVALS)}")
    for option, path in (("--datadir", args.datadir), ("--markets", args.markets)):
        if not Path(path).exists():
            raise UsageError(f"{option} {path}: no such {'directory' if option == '--datadir' else 'file'}")
    if args.scenario is not None and not Path(args.scenario).is_file():
        raise UsageError(f"--scenario {args.scenario}: no such file")

    info, pairs = load_market_data(Path(args.datadir), Path(args.markets), _csv(args.pairs), timeframes,
                                   args.all_markets)
    scenario = load_scenario(Path(args.scenario), set(pairs)) if args.scenario else Scenario()
    if scenario.moves_prices and args.clock != "replay":
        raise UsageError(f"--scenario {args.scenario}: price events and \"flat\" need --clock replay")
    clock = _clock(args.clock, pairs, started_ms, start_ms, warmup)
    faults = Faults(fail_rate, int(latency), _csv(args.latency_paths), seed)
    order_faults: dict = {"expire_after_partial": bool(args.expire_after_partial)}
    for option, key in (("--lost-response-rate", "lost_response_rate"), ("--order-error-rate", "order_error_rate")):
        order_faults[key] = _number(getattr(args, key), option, "a number between 0 and 1")
    if args.order_errors:
        order_faults["order_errors"] = _csv(args.order_errors)
    try:
        faults.update(order_faults, started_ms)
    except FaultError as e:  # name the option, not the admin key
        raise UsageError(f"--{str(e).replace('_', '-')}") from None
    return Market(info, pairs, clock, scenario), faults, port, args.host

def _clock(mode: str, pairs: dict[str, PairData], started_ms: int, start_ms: int | None, warmup: int) -> Clock:
    if mode == "history":
        return history_clock(started_ms)
    all_series = [s for p in pairs.values() for s in p.series.values()]
    if not all_series:
        raise UsageError("--clock replay: no candles to replay")
    align = max(s.tf_ms for s in all_series)
    if start_ms is None:
        base = min(s.tf_ms for s in all_series)
        base_series = [s for s in all_series if s.tf_ms == base]
        start_ms = default_start([s.first_open for s in base_series], [s.end for s in base_series],
                                 base, warmup, align)
    else:
        first = min(s.first_open for s in all_series)
        last = max(s.end for s in all_series)
        if not first <= start_ms < last:
            raise UsageError(f"--start {iso(start_ms)}: outside the served data ({iso(first)} .. {iso(last)})")
    return replay_clock(started_ms, start_ms, align)

def _accounts(args: argparse.Namespace, state: ReplayState) -> SignedFront | None:
    """The exchange simulator behind the protocol's signed API, or None without --accounts."""
    account_options = [o for o, v in (("--api-key", args.api_key), ("--api-secret", args.api_secret),
                                      ("--api-passphrase", args.api_passphrase), ("--balance", args.balance),
                                      ("--ledger", args.ledger)) if v is not None]
    if not args.accounts:
        if account_options:
            raise UsageError(f"{account_options[0]}: only with --accounts")
        return None
    if (args.api_key is None) != (args.api_secret is None):
        raise UsageError("--api-key and --api-secret: give both or neither")
    if args.api_passphrase is not None and args.protocol != "okx":
        raise UsageError(f"--api-passphrase: only with --protocol okx (not {args.protocol})")
    for option, value in (("--api-key", args.api_key), ("--api-secret", args.api_secret),
                          ("--api-passphrase", args.api_passphrase)):
        if value is not None and (not value or len(value) > 256 or not value.isprintable()):
            raise UsageError(f"{option} {value!r}: must be 1 to 256 printable characters")
    try:
        fee = dec(args.fee)
    except ValueError:
        fee = dec(-1)
    if not 0 <= fee < 1:
        raise UsageError(f"--fee {args.fee!r}: must be a rate between 0 and 1, e.g. 0.001")
    if args.fee_asset not in ("received", "quote"):
        raise UsageError(f"--fee-asset {args.fee_asset!r}: must be received or quote")
    partial = int(_number(args.partial_fills, "--partial-fills", "an integer from 1 to 100", int))
    if not 1 <= partial <= 100:
        raise UsageError(f"--partial-fills {args.partial_fills!r}: must be an integer from 1 to 100")
    try:
        balances = parse_balances(args.balance or ["USDT=10000"])
    except ValueError as e:
        raise UsageError(str(e)) from None
    market = state.market

    def book(symbol: str, now: int) -> tuple:
        q = market.quote(market.pairs[symbol], state.effective_now(now))
        return dec(q["bid"]), dec(q["ask"])

    rules = {s["symbol"]: SymbolRules.from_exchange_info(s) for s in market.exchange_info["symbols"]
             if s["symbol"] in market.pairs}
    ledger = Path(args.ledger) if args.ledger else None
    if ledger is not None and not ledger.parent.is_dir():
        raise UsageError(f"--ledger {args.ledger}: the folder {ledger.parent} does not exist")
    sim = ExchangeSimulator(rules, book, fee_rate=fee, fee_asset=args.fee_asset, partial_fills=partial,
                            balances=balances, ledger_path=ledger)
    if isinstance(state.public, okx.OkxPublic):
        return okx_private.OkxSpot(sim, state.public, args.api_key or okx_private.DEFAULT_API_KEY,
                                   args.api_secret or okx_private.DEFAULT_API_SECRET,
                                   args.api_passphrase or okx_private.DEFAULT_PASSPHRASE)
    if isinstance(state.public, xt.XtPublic):
        return xt_private.XtSpot(sim, state.public, args.api_key or xt_private.DEFAULT_API_KEY,
                                 args.api_secret or xt_private.DEFAULT_API_SECRET)
    return binance.BinanceSpot(sim, args.api_key or binance.DEFAULT_API_KEY,
                               args.api_secret or binance.DEFAULT_API_SECRET)


def _match_loop(accounts: SignedFront, stop: threading.Event) -> None:
    """Let time pass for resting orders and partial fills (10 times a second)."""
    while not stop.wait(0.1):
        if accounts.sim.has_open_orders():
            try:
                accounts.sim.step(int(time.time() * 1000))
            except Exception as e:  # the server keeps serving; the error is loud
                sys.stderr.write(f"{PROG}: matching error: {e!r}\n")


def _admin_token(args: argparse.Namespace, host: str) -> str | None:
    """The admin token: given, or required off loopback (from $SMARTPF_REPLAY_TOKEN or made up and printed)."""
    token = args.admin_token or None
    if token is None and not is_loopback(host):
        token = os.environ.get("SMARTPF_REPLAY_TOKEN") or secrets.token_urlsafe(24)
        if not os.environ.get("SMARTPF_REPLAY_TOKEN"):
            sys.stderr.write(f"{PROG}: listening on {host}: /_smartpf/ needs the header X-Smartpf-Token: {token}\n")
    if token is not None and len(token) < 8:
        raise UsageError("--admin-token: must be at least 8 characters")
    return token


def readiness_line(market: Market, host: str, port: int) -> str:
    clock = market.clock
    tfs = ",".join(sort_timeframes(market.timeframes()))
    line = (f"{PROG}: serving {len(market.pairs)} pairs ({tfs}) on http://{host}:{port} clock={clock.mode}")
    if clock.replay and clock.start_hist_ms is not None:
        line += f" start={iso(clock.to_hist(clock.started_ms))}"
    return line

def run(args: argparse.Namespace) -> int:
    """Serve until SIGINT/SIGTERM; 0 on a clean stop, 2 on bad arguments (one line on stderr)."""
    started_ms = int(time.time() * 1000)
    try:
        market, faults, port, host = _build(args, started_ms)
        state = ReplayState(market, faults, args.log_requests)
        front = PROTOCOLS[args.protocol]
        state.public = front(market, Path(args.markets)) if front is not None else None
        state.accounts = _accounts(args, state)
        idle = _number(args.idle_timeout, "--idle-timeout", "seconds > 0")
        most = int(_number(args.max_connections, "--max-connections", "an integer >= 1", int))
        if idle <= 0 or most < 1:
            raise UsageError(f"--idle-timeout {args.idle_timeout!r} / --max-connections {args.max_connections!r}: "
                             "must be seconds > 0 and an integer >= 1")
        state.admin_token = _admin_token(args, host)
        server = make_server(state, host, port, idle_timeout=idle, max_connections=most)
    except (UsageError, DataError, ScenarioError, FaultError, LedgerError, ProtocolSetupError) as e:
        print(f"{PROG}: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"{PROG}: --host {args.host} --port {args.port}: cannot listen ({e.strerror or e})", file=sys.stderr)
        return 2
    stop = threading.Event()

    def _on_signal(signum: int, frame: object) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, _on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
    thread.start()
    if state.accounts is not None:
        threading.Thread(target=_match_loop, args=(state.accounts, stop), daemon=True).start()
    bound_host, bound_port = server.server_address[:2]
    line = readiness_line(market, str(bound_host), int(bound_port))
    if args.protocol != "binance":
        line += f" protocol={args.protocol}"
    if state.accounts is not None:
        sim = state.accounts.sim
        line += f" accounts=on fee={sim.fee_rate}/{sim.fee_asset} partial_fills={sim.partial_fills}"
    print(line, flush=True)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        server.shutdown()
        server.server_close()
        if state.accounts is not None:
            state.accounts.sim.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print(f"{PROG}: stopped", flush=True)
    return 0

def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description="Offline replay exchange speaking Binance's, OKX's "
                                     "or XT's API (see docs/replay.md).")
    add_arguments(parser)
    return parser

def main(argv: list[str] | None = None) -> int:
    return run(build_parser().parse_args(argv))
