"""Commands on a portfolio in its trade database: ``status``, ``why``, ``records`` (read only), ``adopt`` and
``reset`` (resolve a start the bot refused).

Both find the database as Freqtrade does (``--db-url``, else the config's ``db_url``, else Freqtrade's
default for dry-run or live, relative to the working directory) and open it through Freqtrade's own
persistence layer, so its tables are read (and, if needed, migrated) exactly as the bot would.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from smartpf.configfile import ConfigError, load_configs
from smartpf.errors import UsageError
from smartpf_core import Engine, parse_settings

DRYRUN_DB = "sqlite:///tradesv3.dryrun.sqlite"  # Freqtrade's defaults (freqtrade/constants.py)
LIVE_DB = "sqlite:///tradesv3.sqlite"
RUNNING_WITHIN = 120.0  # seconds: a portfolio saved this recently belongs to a bot that is probably running


class PortfolioCommandError(UsageError):
    """Bad input or a refusal: one message, exit code 2."""


def resolve_db_url(config: dict[str, Any], db_url: str | None = None) -> str:
    """The trade database Freqtrade would use with this config and command line (its configuration.py)."""
    if db_url:
        return db_url
    url = config.get("db_url")
    if config.get("dry_run", False):
        return DRYRUN_DB if url in (None, LIVE_DB) else str(url)
    return str(url) if url else LIVE_DB


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-c", "--config", action="append", required=True, metavar="CONFIG",
                        help="Freqtrade config file; repeat to merge several, later files win")
    parser.add_argument("--db-url", help="the trade database (default: as Freqtrade resolves it from the config)")


def register(sub: argparse._SubParsersAction) -> None:
    """adopt, reset, status, why, records and reconcile."""
    p = sub.add_parser("adopt", help="take a trade database's open trades as the portfolio (after a lost state)")
    add_arguments(p)
    p.set_defaults(func=cmd_adopt)

    p = sub.add_parser("reset", help="archive the portfolio of a trade database; the next start begins a new one")
    add_arguments(p)
    p.add_argument("--force", action="store_true", help="even if the bot seems to be running")
    p.set_defaults(func=cmd_reset)

    p = sub.add_parser("status", help="the portfolio: value, profit, HODL, each coin's actual vs target weight")
    add_arguments(p)
    p.add_argument("--json", action="store_true", help="the view as a JSON object")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("why", help="the latest reasons for not rebalancing, with their numbers")
    add_arguments(p)
    p.set_defaults(func=cmd_why)

    p = sub.add_parser("records", help="the trading records: one row per filled order")
    add_arguments(p)
    p.add_argument("--since", help="only records at or after this ISO-8601 time")
    p.add_argument("--csv", metavar="FILE", help="write them to FILE (default: print)")
    p.set_defaults(func=cmd_records)

    from smartpf import page

    page.add_parser(sub)  # smartpf serve, and --url for status, why and records

    from smartpf.cli import reconcile

    p = sub.add_parser("reconcile", help="the exchange's balances, the trade database and the portfolio, compared")
    add_arguments(p)
    p.add_argument("--json", action="store_true", help='{"coins": [{"coin", "exchange", "database", "state", '
                   '"difference"}], "orphans": [...]}')
    p.add_argument("--apply", action="store_true", help="take the account's amounts as the truth where it holds "
                   "less than the portfolio (the bot stopped); a `diverged` bot then resumes")
    p.add_argument("--force", action="store_true", help="with --apply: even if the portfolio was saved in the "
                   "last 2 minutes (its bot may be running)")
    p.set_defaults(func=reconcile.cmd_reconcile)


OPENED: list[str] = []  # the database URL this command opened (cli names it when a query fails)


def load_config(args: argparse.Namespace) -> dict[str, Any]:
    try:
        return load_configs(args.config)
    except ConfigError as exc:
        raise PortfolioCommandError(str(exc)) from exc


def open_store(args: argparse.Namespace, read_only: bool = False) -> tuple[dict[str, Any], str, Any]:
    """The config, the database URL and the portfolio store. ``read_only``: the database is opened so that
    nothing can be written (no Freqtrade migration, no table created); else as the bot opens it."""
    from smartpf.freqtrade import door

    config = load_config(args)
    real = resolve_db_url(config, args.db_url)
    url = shown_url(real)  # what is printed: never a password
    OPENED[:] = [url]
    try:
        return config, url, door.open_store(real, read_only=read_only)
    except door.DatabaseError as exc:
        raise PortfolioCommandError(str(exc)) from exc


def check_bot(config: dict[str, Any], url: str, row: Any, what: str) -> None:
    """Refuse to change a portfolio that belongs to another bot than the config's (a database shared by mistake,
    a config whose own db_url was not the one read)."""
    bot = str(config.get("bot_name") or "freqtrade")
    if row.bot_name and row.bot_name != bot:
        raise PortfolioCommandError(f"portfolio {row.id} in {url} belongs to bot {row.bot_name!r}, the "
                                    f"config names bot_name {bot!r}: {what} refused (pass the right -c/--db-url)")


def shown_url(url: str) -> str:
    from smartpf.freqtrade.door import shown

    return shown(url)


def cmd_adopt(args: argparse.Namespace) -> int:
    """Take the database's open trades as the portfolio: their amounts, the config's targets and investment."""
    from freqtrade.persistence import Trade

    from smartpf.freqtrade.memory import highest_seq, open_amounts
    from smartpf.freqtrade.store import new_portfolio_id

    config, url, store = open_store(args)
    result = parse_settings(config)
    if not result.ok:
        raise PortfolioCommandError("the smart_portfolio settings are not valid: " + "; ".join(result.lines()))
    spec = result.spec
    active = store.active()
    if active is not None:
        raise PortfolioCommandError(f"{url} already holds portfolio {active.id}; `smartpf reset` archives it first")
    trades = Trade.get_trades_proxy(is_open=True)
    if not trades:
        raise PortfolioCommandError(f"{url} has no open trade to adopt; the next start buys a new basket")
    held = open_amounts(trades)
    strangers = sorted(p for p in held if p not in spec.weights)
    if strangers:
        raise PortfolioCommandError(f"open trades on {', '.join(strangers)} are not in smart_portfolio.assets "
                                    f"({', '.join(spec.coins)}): add the coins to the assets, or close those trades")
    cash = spec.investment - sum(_net_spent(t) for t in trades)
    tags = [o.ft_order_tag for t in Trade.get_trades_proxy() for o in t.orders]
    engine = Engine.adopt(spec, held, cash, time.time(), portfolio_id=new_portfolio_id(), seq=highest_seq(tags),
                          source=f"{len(trades)} open trades of {url}")
    row = store.create(engine, str(config.get("bot_name") or "freqtrade"))
    now = time.time()  # adopted with no bot running it: a run that ended cleanly, so `reset` need not wait
    store.mark_run(row.id, started=now, stopped=now)
    print(f"adopted {len(trades)} open trades as portfolio {row.id} in {url}:")
    for pair, amount in sorted(held.items()):
        print(f"  {pair}: {amount:g} (target {spec.weights[pair] * 100:g} %)")
    missing = [p for p in spec.pairs if p not in held]
    if missing:
        print(f"  no trade for {', '.join(missing)}: bought at the next check, if cash allows")
    print(f"  idle cash {engine.cash:.2f} {spec.stake_currency} (investment {spec.investment:g} minus what the open "
          f"trades cost); principal {spec.investment:g} {spec.stake_currency}")
    print("The bot resumes this portfolio on its next start; the next check decides whether a rebalance is due.")
    return 0


def _net_spent(trade: Any) -> float:
    """Stake currency the trade's filled orders took out of the account (buys with fees, less sells)."""
    spent = 0.0
    for order in trade.orders:
        filled = float(order.safe_filled or 0.0)
        if filled <= 0 or (order.status or "").lower() not in ("closed", "canceled", "cancelled", "expired"):
            continue
        value = filled * float(order.safe_price or 0.0)
        if order.ft_order_side == trade.entry_side:
            spent += value * (1 + float(trade.fee_open or 0.0))
        else:
            spent -= value * (1 - float(trade.fee_close or 0.0))
    return spent


def cmd_reset(args: argparse.Namespace) -> int:
    """Archive the active portfolio with its records; the next start begins a new one."""
    from freqtrade.persistence import Trade

    config, url, store = open_store(args)
    row = store.active()
    if row is None:
        leftover = Trade.get_trades_proxy(is_open=True)
        if leftover:
            print(f"{url} holds no active portfolio, but {len(leftover)} open trades "
                  f"({', '.join(f'{t.pair} (trade {t.id})' for t in leftover)}): the next start refuses until they "
                  "are closed (Freqtrade /forceexit), deleted (/delete: the coins stay in the account) or adopted "
                  "(smartpf adopt)")
        else:
            print(f"{url} holds no active portfolio: the next start begins a new one")
        return 0
    check_bot(config, url, row, "reset")  # even with --force: never another bot's portfolio
    saved_at = row.updated_at.replace(tzinfo=UTC).timestamp()
    now = time.time()
    if not args.force and not store.stopped_cleanly(row.id) and bot_running(config, saved_at, now,
                                                                            cautious=True):
        api = config.get("api_server") or {}
        if api.get("enabled") and bot_running(config, float("-inf"), now):  # its REST API answers
            raise PortfolioCommandError(f"portfolio {row.id}: its bot seems to be running (its REST API answers on "
                                        f"port {api.get('listen_port', 8080)}); stop it first (or pass --force)")
        raise PortfolioCommandError(f"portfolio {row.id} was saved {now - saved_at:.0f} s ago: its bot seems to be "
                                    f"running; stop it first and wait {RUNNING_WITHIN - (now - saved_at):.0f} s "
                                    "more, or pass --force if it is stopped")
    status = store.load(row).status
    store.archive(row)
    trades = Trade.get_trades_proxy(is_open=True)
    print(f"portfolio {row.id} ({status}) archived in {url} on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; its records "
          "stay in the table smartpf_record." + ("" if trades else " The next start begins a new portfolio."))
    if trades:
        listed = ", ".join(f"{t.pair} (trade {t.id})" for t in trades)
        print(f"warning: {len(trades)} open trades remain ({listed}): the next start refuses until they are closed "
              "(Freqtrade /forceexit) or deleted (/delete: the coins stay in the account), or adopted again "
              "(smartpf adopt)")
    return 0


def read_portfolio(args: argparse.Namespace) -> tuple[str, Any, Any, Engine]:
    _config, url, store, row, engine = portfolio_and_config(args)
    return url, store, row, engine


def portfolio_and_config(args: argparse.Namespace) -> tuple[dict[str, Any], str, Any, Any, Engine]:
    config, url, store = open_store(args, read_only=True)
    row = store.active()
    if row is None:
        archived = store.all()
        if not archived:
            raise PortfolioCommandError(f"{url} holds no portfolio yet: start the bot")
        row = archived[-1]
        print(f"note: {url} holds no active portfolio; showing the last archived one, {row.id}", file=sys.stderr)
    return config, url, store, row, store.load(row)


def bot_running(config: dict[str, Any], saved_at: float, now: float, cautious: bool = False) -> bool:
    """Whether the bot is up: its REST API answers a ping (when the config enables it), else it saved its
    portfolio within RUNNING_WITHIN seconds. ``cautious`` (before archiving a portfolio): an API that does not
    answer is not proof enough (a bot still starting, or hung), so a recent save still counts as running."""
    import urllib.request

    api = config.get("api_server") or {}
    if api.get("enabled"):
        host = str(api.get("listen_ip_address") or "127.0.0.1")
        host = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
        try:
            with urllib.request.urlopen(f"http://{host}:{api.get('listen_port', 8080)}/api/v1/ping", timeout=3):
                return True
        except OSError:
            if not cautious:
                return False
    return now - saved_at < RUNNING_WITHIN


def last_known_prices(engine: Engine) -> dict[str, tuple[float, float | None]]:
    """Each pair's last price the bot or the exchange saw, and when: the portfolio's own fills, else the trade
    database's orders (an adopted portfolio has no fill of its own yet)."""
    from freqtrade.persistence import Trade
    from sqlalchemy.exc import OperationalError, ProgrammingError

    known: dict[str, tuple[float, float | None]] = {}
    try:
        trades = Trade.get_trades_proxy()
    except (OperationalError, ProgrammingError):  # a database with no trades table yet (read-only: not created)
        Trade.session.rollback()
        trades = []
    for trade in trades:
        for order in trade.orders:
            price = float(order.safe_price or 0.0)
            when = order.order_filled_date or order.order_date
            at = when.replace(tzinfo=UTC).timestamp() if when else None
            if price > 0 and (trade.pair not in known or (at or 0) >= (known[trade.pair][1] or 0)):
                known[trade.pair] = (price, at)
    for record in engine.records:
        for fill in record.trades:
            if fill.price > 0 and fill.time >= (known.get(fill.pair, (0.0, 0.0))[1] or 0):
                known[fill.pair] = (fill.price, fill.time)
    return known


def status_view(config: dict[str, Any], store: Any, row: Any, engine: Engine, now: float) -> dict[str, Any]:
    """The view ``status --json`` prints (and the page's API serves): the saved state at the bot's last prices."""
    from smartpf.cli.view import portfolio_view

    view_row = store.view(row.id)
    prices = json.loads(view_row.prices) if view_row else {}
    reasons = json.loads(view_row.reasons) if view_row else []
    saved_at = row.updated_at.replace(tzinfo=UTC).timestamp()
    running = row.status == "active" and bot_running(config, saved_at, now)
    return portfolio_view(engine, prices, view_row.prices_at if view_row else None, now, reasons,
                          last_known=last_known_prices(engine), running=running, last_seen=saved_at)


def cmd_status(args: argparse.Namespace) -> int:
    from smartpf.backtest.report import tidy
    from smartpf.cli.view import format_view

    config, _url, store, row, engine = portfolio_and_config(args)
    now = time.time()
    view = status_view(config, store, row, engine, now)
    if args.json:
        print(json.dumps(tidy(view), indent=2))
    else:
        print(format_view(view, engine.spec.stake_currency, row.id, now))
    return 0


def why_of(store: Any, row: Any) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """The latest reasons for not rebalancing (oldest first) and the last settings change the bot refused."""
    view_row = store.view(row.id)
    reasons = json.loads(view_row.reasons) if view_row else []
    rejected = json.loads(view_row.rejected) if view_row and view_row.rejected else None
    return reasons, rejected


def why_lines(portfolio_id: str, reasons: list[dict[str, Any]], rejected: dict[str, Any] | None) -> list[str]:
    """What ``smartpf why`` prints."""
    if not reasons:
        return [f"portfolio {portfolio_id}: no reason recorded yet (the bot saves one at each loop)"]
    lines = [f"portfolio {portfolio_id}: the latest reasons for not rebalancing, oldest first"]
    for reason in reasons:
        when = datetime.fromtimestamp(reason.get("at") or 0, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        lines.append(f"  {when}  {reason.get('code')}: {reason.get('message')}")
        numbers = {k: v for k, v in (reason.get("details") or {}).items() if isinstance(v, int | float | str)}
        if numbers:
            lines.append("      " + ", ".join(f"{k}={detail_text(k, v)}" for k, v in numbers.items()))
    if rejected:
        lines.append("  last settings change refused: " + "; ".join(rejected.get("problems", [])))
    return lines


def cmd_why(args: argparse.Namespace) -> int:
    _url, store, row, _engine = read_portfolio(args)
    print("\n".join(why_lines(row.id, *why_of(store, row))))
    return 0


def detail_text(key: str, value: Any) -> str:
    """A reason's number as a user reads it: a moment as an ISO time, a float to 6 digits."""
    if isinstance(value, int | float) and not isinstance(value, bool) and (
            key.endswith(("_time", "_at")) or key in ("time", "since")) and value > 1e8:
        return datetime.fromtimestamp(value, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def parse_since(text: str | None) -> float | None:
    """``--since``: an ISO-8601 time (UTC unless it says otherwise) as epoch seconds."""
    if not text:
        return None
    try:
        since = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise PortfolioCommandError(f"--since {text!r}: not an ISO-8601 time such as 2026-11-27T10:00Z") from exc
    return (since if since.tzinfo else since.replace(tzinfo=UTC)).timestamp()


def cmd_records(args: argparse.Namespace) -> int:
    from smartpf.cli.view import record_rows, records_csv

    since = parse_since(args.since)
    _url, _store, _row, engine = read_portfolio(args)
    return write_records(records_csv(record_rows(engine.records, since)), args.csv)


def write_records(text: str, csv: str | None) -> int:
    """The records' CSV into ``--csv FILE``, else to the terminal (``records``, locally or with ``--url``)."""
    if csv:
        Path(csv).write_text(text, encoding="utf-8")
        print(f"wrote {len(text.splitlines()) - 1} records to {csv}")
    else:
        sys.stdout.write(text)
    return 0
