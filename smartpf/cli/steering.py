"""``smartpf add``, ``withdraw``, ``set`` and ``terminate``: change a running portfolio the way the bot itself
accepts changes.

A change is applied once and only as asked. Each command holds an exclusive lock on ``<file>.lock``
beside the config file whose ``smart_portfolio`` is in force (a symlink's target) for its whole run, so
two commands never interleave; it checks that the file says what the bot runs, checks the change through
the core, writes it atomically (with a backup) with the next ``generation``, asks the running bot to
reload through Freqtrade's REST API (``POST /api/v1/reload_config``), and confirms from the trade
database that the bot saved THIS generation (or refused it). If it fails and the bot did not take the
change, the backup is restored and the command says why (exit 2). The bot itself refuses a file older
than its settings, or a lower investment without a newer generation (``settings_change_problem``).
Credentials come from the config's ``api_server`` (or ``--username/--password``, or ``--url
http://user:password@host``) and are never printed.
"""

from __future__ import annotations

import argparse
import base64
import copy
import fcntl
import json
import math
import os
import shutil
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from smartpf.cli.inputs import coins_arg, number_arg
from smartpf.cli.portfolio import PortfolioCommandError, check_bot, open_store
from smartpf.cli.portfolio import add_arguments as portfolio_arguments
from smartpf.configfile import ConfigError, environment_overrides, load_config_file, section_file
from smartpf.freqtrade.door import shown
from smartpf_core import check_config
from smartpf_core.flows import drop_coin

CONFIRM_WITHIN = 90.0  # seconds for the bot to reload and save the change
LOCK_WAIT = CONFIRM_WITHIN + 60.0  # seconds a command waits for another one on the same file to finish


def register(sub: argparse._SubParsersAction) -> None:
    """add, withdraw, set and terminate."""
    p = sub.add_parser("add", help="invest AMOUNT more in the running portfolio (config edit + reload)")
    portfolio_arguments(p)
    add_arguments(p)
    p.add_argument("amount", metavar="AMOUNT", help="in the stake currency; bought towards the target weights")
    p.add_argument("--underweight-only", action="store_true",
                   help="buy only the coins under their target, the furthest under first (sets inflow: underweight)")
    p.set_defaults(func=cmd_add)

    p = sub.add_parser("withdraw", help="take AMOUNT out of the running portfolio (config edit + reload)")
    portfolio_arguments(p)
    add_arguments(p)
    p.add_argument("amount", metavar="AMOUNT",
                   help="in the stake currency; idle cash first, then sold towards the targets")
    p.set_defaults(func=cmd_withdraw)

    p = sub.add_parser("set", help="set the portfolio's take-profit / stop-loss, threshold, interval or weights "
                       "(config edit + reload)")
    portfolio_arguments(p)
    add_arguments(p)
    p.add_argument("--take-profit", metavar="PCT", help="percent, or none")
    p.add_argument("--stop-loss", metavar="PCT", help="percent, or none")
    p.add_argument("--threshold", type=number_arg, metavar="T", help="rebalance at this deviation (proportional)")
    p.add_argument("--threshold-type", choices=("absolute", "relative"),
                   help="absolute: percentage points; relative: percent of each target")
    p.add_argument("--interval", metavar="INTERVAL", help="rebalance on this schedule instead (scheduled), e.g. 1d")
    p.add_argument("--weights", type=coins_arg, metavar="COIN=PCT,...",
                   help="new target weights for the portfolio's coins, e.g. BTC=50,ETH=30,SOL=20")
    p.add_argument("--drop", metavar="COIN", help="take COIN out of the weights (shared over the others pro rata); "
                   "it stays in the account, never traded, unless --sell")
    p.add_argument("--sell", action="store_true", help="with --drop: sell the coin (when its market has a price)")
    p.add_argument("--inflow", choices=("target", "underweight"),
                   help="how deposits are bought: towards every target, or only the coins under target")
    p.set_defaults(func=cmd_set)

    p = sub.add_parser("terminate", help="terminate the running portfolio, selling or keeping the coins")
    portfolio_arguments(p)
    add_arguments(p)
    how = p.add_mutually_exclusive_group(required=True)
    how.add_argument("--sell", action="store_true", help="sell every coin to the stake currency")
    how.add_argument("--keep", action="store_true", help="stop trading, keep the coins")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    p.set_defaults(func=cmd_terminate)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--file", help="the config file to change (default: the last -c file with smart_portfolio)")
    parser.add_argument("--url", help="the bot's REST API (default: from the config's api_server)")
    parser.add_argument("--username", help="REST API user (default: api_server.username)")
    parser.add_argument("--password", help="REST API password (default: api_server.password)")


def _number(text: str, name: str, allow_none: bool = False) -> float | None:
    if allow_none and text.lower() == "none":
        return None
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise PortfolioCommandError(f"{name} {text!r}: not a number" + (" (or none)" if allow_none else ""))
    return value


def cmd_add(args: argparse.Namespace) -> int:
    amount = _number(args.amount, "AMOUNT")
    if amount is None or amount <= 0:
        raise PortfolioCommandError(f"AMOUNT {args.amount}: must be more than 0 "
                                    "(to take money out: smartpf withdraw AMOUNT)")
    if getattr(args, "underweight_only", False):  # (sets inflow for this and later deposits: flows.py)
        return _change(args, lambda s: {"investment": s["investment"] + amount, "inflow": "underweight"},
                       f"investment raised by {amount:g}, bought underweight-only")
    return _change(args, lambda s: {"investment": s["investment"] + amount},
                   f"investment raised by {amount:g}")


def cmd_withdraw(args: argparse.Namespace) -> int:
    """Lower the investment by AMOUNT: the bot takes it from idle cash first, then sells towards the targets."""
    amount = _number(args.amount, "AMOUNT")
    if amount is None or amount <= 0:
        raise PortfolioCommandError(f"AMOUNT {args.amount}: must be more than 0 (the amount to take out)")
    return _change(args, lambda s: withdraw_settings(s, amount), f"investment lowered by {amount:g}")


def withdraw_settings(section: dict[str, Any], amount: float) -> dict[str, Any]:
    investment = float(section["investment"])
    if amount >= investment:
        raise PortfolioCommandError(f"AMOUNT {amount:g}: must be less than the investment {investment:g} "
                                    "(to take everything out: smartpf terminate --sell)")
    return {"investment": investment - amount}


def rule_settings(section: dict[str, Any], threshold: float | None = None, threshold_type: str | None = None,
                  interval: str | None = None, weights: dict[str, float] | None = None) -> dict[str, Any]:
    """The smart_portfolio keys that ``set --threshold / --threshold-type / --interval / --weights`` change.
    A threshold makes the portfolio proportional, an interval scheduled; weights must name the same coins
    (a new coin needs its pair in the whitelist: edit the config and restart)."""
    changes: dict[str, Any] = {}
    if interval is not None and (threshold is not None or threshold_type is not None):
        raise PortfolioCommandError("--interval and --threshold/--threshold-type: give one rule, a schedule or a "
                                    "threshold")
    if threshold is not None or threshold_type is not None:
        changes["mode"] = "proportional"
        if threshold is not None:
            changes["threshold"] = threshold
        if threshold_type is not None:
            changes["threshold_type"] = threshold_type
    if interval is not None:
        changes.update({"mode": "scheduled", "interval": interval})
    if weights is not None:
        held = [str(c).upper() for c in (section.get("assets") or {})]
        if sorted(weights) != sorted(held):
            raise PortfolioCommandError(f"--weights {','.join(f'{c}={w:g}' for c, w in weights.items())}: give a "
                                        f"weight for each coin of the portfolio ({', '.join(held)}), no other")
        changes["assets"] = dict(weights)
    return changes


def _said(changes: dict[str, Any]) -> str:
    words = {"take_profit": "take-profit", "stop_loss": "stop-loss", "threshold_type": "threshold type"}
    out = []
    for key, value in changes.items():
        if key == "assets":
            out.append("weights " + ", ".join(f"{c} {w:g} %" for c, w in value.items()))
        elif key in ("take_profit", "stop_loss"):
            out.append(f"{words[key]} {'none' if value is None else f'{value:g} %'}")
        elif key == "threshold":
            out.append(f"threshold {value:g}")
        else:
            out.append(f"{words.get(key, key)} {value}")
    return ", ".join(out)


def drop_settings(section: dict[str, Any], coin: str, sell: bool) -> dict[str, Any]:
    """``set --drop COIN [--sell]``: the coin's weight goes to the others pro rata (the core's ``drop_coin``);
    with --sell the bot sells it (when its market has a price), without it the coin stays in the account, kept
    out of the weights and never traded (``frozen``)."""
    try:
        assets = drop_coin(section.get("assets") or {}, coin)
    except ValueError as exc:
        raise PortfolioCommandError(str(exc)) from exc
    key = "dropped" if sell else "frozen"
    listed = [str(c) for c in section.get(key) or []]
    return {"assets": assets, key: listed if coin.upper() in listed else [*listed, coin.upper()]}


def cmd_set(args: argparse.Namespace) -> int:
    if getattr(args, "drop", None):
        if any(getattr(args, k, None) is not None for k in ("take_profit", "stop_loss", "threshold",
                                                            "threshold_type", "interval", "weights", "inflow")):
            raise PortfolioCommandError("--drop: give it alone (one change at a time)")
        how = "sold" if args.sell else "kept in the account, out of the weights"
        return _change(args, lambda s: drop_settings(s, args.drop, args.sell),
                       f"{args.drop.upper()} dropped ({how}), its weight shared pro rata")
    if getattr(args, "sell", False):
        raise PortfolioCommandError("--sell goes with --drop COIN")
    changes: dict[str, Any] = {}
    if args.take_profit is not None:
        changes["take_profit"] = _number(args.take_profit, "--take-profit", allow_none=True)
    if args.stop_loss is not None:
        changes["stop_loss"] = _number(args.stop_loss, "--stop-loss", allow_none=True)
    if getattr(args, "inflow", None) is not None:
        changes["inflow"] = args.inflow
    rules = {"threshold": args.threshold, "threshold_type": args.threshold_type, "interval": args.interval,
             "weights": args.weights}
    if not changes and all(v is None for v in rules.values()):
        raise PortfolioCommandError("nothing to set: give --take-profit, --stop-loss, --threshold, --threshold-type, "
                                    "--interval, --weights, --inflow or --drop")
    return _change(args, lambda s: {**changes, **rule_settings(s, **rules)},
                   _said({**changes, **{k: v for k, v in rules.items() if v is not None and k != "weights"},
                          **({"assets": args.weights} if args.weights else {})}))


def cmd_terminate(args: argparse.Namespace) -> int:
    how = "sell" if args.sell else "keep"
    config, url, store = open_store(args)
    _row, engine = _running(config, url, store)
    held = ", ".join(f"{q:g} {p.split('/')[0]}" for p, q in sorted(engine.holdings.items()) if q > 0) or "no coin"
    if how == "sell":
        print(f"terminate --sell: every coin ({held}) is sold at market to {engine.spec.stake_currency}; "
              "the portfolio then trades no more.")
    else:
        print(f"terminate --keep: the portfolio stops trading now; its coins ({held}) stay in the account, "
              "no order is placed.")
    if not args.yes:
        try:
            answer = input("Proceed? [y/N] ")
        except EOFError:
            answer = ""
        if answer.strip().lower() not in ("y", "yes"):
            raise PortfolioCommandError("not confirmed; nothing changed (pass --yes to skip the question)")
    return _change(args, lambda s: {"terminate": how}, f"terminate with {how}")


def _running(config: dict[str, Any], url: str, store: Any) -> tuple[Any, Any]:
    """The active portfolio of the config's bot, refused at once if it takes no more changes."""
    row = store.active()
    if row is None:
        raise PortfolioCommandError(f"{url} holds no active portfolio: start the bot first")
    check_bot(config, url, row, "the change")
    engine = store.load(row)
    if engine.status == "terminated" or engine.spec.terminate is not None:
        state = "terminated" if engine.status == "terminated" else f"being terminated ({engine.spec.terminate})"
        raise PortfolioCommandError(f"portfolio {row.id} is {state}: it takes no more changes, nothing written "
                                    "(`smartpf reset -c CONFIG` archives it; the next start begins a new one)")
    return row, engine


def _target_file(args: argparse.Namespace) -> Path:
    """The file to edit: --file, else the one whose smart_portfolio is in force (add_config_files included)."""
    if args.file:
        return Path(args.file)
    try:
        holding = section_file(args.config)
    except ConfigError as exc:
        raise PortfolioCommandError(str(exc)) from exc
    if holding is None:
        raise PortfolioCommandError("no config file holds smart_portfolio; name the file with --file")
    return holding


@contextmanager
def _exclusive(path: Path) -> Iterator[None]:
    """One steering command at a time per config file: an exclusive lock on ``<file>.lock`` beside it, held from
    reading the file to the bot's confirmation (or the restore), so two commands never interleave."""
    lock = path.with_name(path.name + ".lock")
    try:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise PortfolioCommandError(f"cannot create the lock file {lock} ({exc.strerror or exc}); nothing "
                                    "changed") from exc
    try:
        deadline = time.monotonic() + LOCK_WAIT
        told = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise PortfolioCommandError(f"another smartpf command is still changing {path} after "
                                                f"{LOCK_WAIT:.0f} s; nothing changed, try again") from None
                if not told:
                    print(f"waiting for another smartpf command changing {path} ...", file=sys.stderr)
                    told = True
                time.sleep(0.2)
        yield
    finally:
        os.close(fd)  # releases the lock


def _change(args: argparse.Namespace, change: Any, said: str) -> int:
    """Apply one settings change, once: under the file's lock, checked against the settings in force, written
    with the next generation, reloaded, confirmed by the bot for this generation; on failure nothing changed."""
    named = _target_file(args)
    target = Path(os.path.realpath(named))  # a symlinked config: its target is written, the link stays
    with _exclusive(target):
        config, url, store = open_store(args)  # read under the lock: a change that finished before is seen
        row, engine = _running(config, url, store)
        in_force = engine.spec
        if "smart_portfolio" in environment_overrides():
            raise PortfolioCommandError("FREQTRADE__SMART_PORTFOLIO__... environment variables override the file: "
                                        "a change written to the file would not be the one in force; unset them")
        try:
            text = target.read_text(encoding="utf-8")
            edited = load_config_file(target)
        except (OSError, ConfigError) as exc:
            raise PortfolioCommandError(f"--file {named}: {exc}") from exc
        effective = dict(config.get("smart_portfolio") or {})
        _agree(effective, in_force, named)
        generation = in_force.generation + 1
        section = dict(edited.get("smart_portfolio") or effective)
        wanted = {**change(section), "generation": generation}
        section.update(wanted)
        edited["smart_portfolio"] = section
        merged = copy.deepcopy(config)
        merged["smart_portfolio"] = {**effective, **wanted}
        result = check_config(merged)  # what the bot would refuse
        problems = [str(p) for p in result.errors]
        if problems:
            raise PortfolioCommandError("the change is not valid, nothing written: " + "; ".join(problems))

        before = time.time()
        backup = target.with_name(target.name + ".bak")
        shutil.copy2(target, backup)
        _write_atomically(target, json.dumps(edited, indent=4) + "\n")
        try:
            _reload(config, args)
            _confirm(store, row.id, result.spec, generation, before)
        except BaseException as exc:  # refused, no answer, Ctrl-C, a database error: restore unless it was taken
            try:
                applied = _applied(store, row.id, generation)
            except Exception:  # noqa: BLE001 - cannot tell: restore (a stale file is refused by the bot, never undoes)
                applied = False
            if not applied:
                _write_atomically(target, text)
                if isinstance(exc, PortfolioCommandError):
                    raise PortfolioCommandError(f"{exc}; nothing changed: {named} restored from {backup.name}"
                                                ) from exc
                raise
            if not isinstance(exc, PortfolioCommandError):
                raise
    print(f"{said}: written to {named} (generation {generation}, backup {backup.name}); the bot reloaded and "
          "took it")
    return 0


def _agree(effective: dict[str, Any], in_force: Any, named: Path) -> None:
    """The config must say what the bot runs before a change is made on top of it: a change computed from a
    stale file (a restored backup, a command that gave up) would undo an applied one."""
    generation = effective.get("generation", 0)
    if not isinstance(generation, int) or generation < in_force.generation:
        raise PortfolioCommandError(
            f"the config's smart_portfolio.generation = {generation} is older than the settings in force "
            f"(generation {in_force.generation}): {named} was restored or edited back; put back the settings in "
            f"force (investment {in_force.investment:g}, generation {in_force.generation}) first; nothing changed")
    investment = effective.get("investment")
    if not isinstance(investment, int | float) or float(investment) != in_force.investment:
        raise PortfolioCommandError(
            f"the config's smart_portfolio.investment = {investment} differs from the {in_force.investment:g} in "
            f"force: reload the bot with the edited file, or put back {in_force.investment:g}, first; nothing changed")


def _write_atomically(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=path.parent)
    if path.exists():
        shutil.copymode(path, tmp)  # the config keeps its permissions (it may hold keys)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def _reload(config: dict[str, Any], args: argparse.Namespace) -> None:
    api = config.get("api_server") or {}
    host = str(api.get("listen_ip_address") or "127.0.0.1")
    host = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    base = (args.url or f"http://{host}:{api.get('listen_port', 8080)}").rstrip("/")
    user = args.username if args.username is not None else str(api.get("username", ""))
    password = args.password if args.password is not None else str(api.get("password", ""))
    try:
        parts = urllib.parse.urlsplit(base)
        if parts.username is not None or parts.password is not None:  # --url http://user:pass@host:port
            user = args.username if args.username is not None else urllib.parse.unquote(parts.username or "")
            password = args.password if args.password is not None else urllib.parse.unquote(parts.password or "")
            netloc = parts.hostname or ""
            netloc = f"[{netloc}]" if ":" in netloc else netloc
            base = urllib.parse.urlunsplit(parts._replace(netloc=netloc + (f":{parts.port}" if parts.port else "")))
    except ValueError as exc:
        raise PortfolioCommandError(f"--url {shown(base)}: not a URL ({exc})") from None
    base = shown(base)  # nothing of a password is ever printed
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    request = urllib.request.Request(f"{base}/api/v1/reload_config", data=b"", method="POST",
                                     headers={"Authorization": f"Basic {token}"})
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            response.read()
    except urllib.error.HTTPError as exc:
        if exc.code in (401, 403):
            raise PortfolioCommandError(f"the bot at {base} refused the credentials (HTTP {exc.code}); check "
                                        "api_server.username/password, or pass --username/--password") from exc
        raise PortfolioCommandError(f"the bot at {base} answered HTTP {exc.code} to the reload") from exc
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise PortfolioCommandError(f"no bot answers at {base} ({reason}): is it running with api_server "
                                    "enabled? (--url for another address)") from exc


def _saved_spec(store: Any, portfolio_id: str) -> dict[str, Any] | None:
    store.session.rollback()  # a fresh read of what the bot committed
    row = store.active()
    if row is None or row.id != portfolio_id:
        return None
    saved = json.loads(row.state).get("spec", {})
    return saved if isinstance(saved, dict) else None


def _applied(store: Any, portfolio_id: str, generation: int) -> bool:
    saved = _saved_spec(store, portfolio_id)
    return saved is not None and saved.get("generation", 0) >= generation


def _confirm(store: Any, portfolio_id: str, wanted: Any, generation: int, since: float) -> None:
    """Wait until the bot saved THIS change (its generation, with the wanted settings), or recorded that it
    refused this generation."""
    keys = ("investment", "take_profit", "stop_loss", "terminate", "on_exit", "generation", "mode", "threshold",
            "threshold_type", "interval", "assets")
    deadline = time.time() + CONFIRM_WITHIN
    while time.time() < deadline:
        saved = _saved_spec(store, portfolio_id)
        if saved is not None and saved.get("generation", 0) >= generation:
            if all(saved.get(k) == wanted.to_dict().get(k) for k in keys):
                return
        view = store.view(portfolio_id)
        if view is not None and view.rejected:
            rejected = json.loads(view.rejected)
            about = rejected.get("generation")
            if about == generation or (about is None and rejected.get("at", 0) >= since - 1):
                raise PortfolioCommandError("the bot refused the change: " + "; ".join(rejected.get("problems", [])))
        time.sleep(1)
    raise PortfolioCommandError(f"the bot did not confirm the change within {CONFIRM_WITHIN:.0f} s")
