"""``smartpf add``, ``withdraw``, ``set`` and ``terminate``: change a running portfolio the way the bot itself
accepts changes.

Each command checks the change through the core first, writes it atomically (with a backup) into the
config file that holds ``smart_portfolio``, asks the running bot to reload through Freqtrade's REST API
(``POST /api/v1/reload_config``), and confirms from the trade database that the bot took it. If the bot
refused it, or cannot be reached, the backup is restored and the command says why (exit 2).
Credentials come from the config's ``api_server`` (or ``--username/--password``) and are never printed.
"""

from __future__ import annotations

import argparse
import base64
import json
import math
import os
import shutil
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from smartpf_core import check_config

from .configfile import ConfigError, deep_merge, load_config_file
from .portfolio_cli import PortfolioCommandError, _open

CONFIRM_WITHIN = 90.0  # seconds for the bot to reload and save the change


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


def cmd_set(args: argparse.Namespace) -> int:
    changes: dict[str, Any] = {}
    if args.take_profit is not None:
        changes["take_profit"] = _number(args.take_profit, "--take-profit", allow_none=True)
    if args.stop_loss is not None:
        changes["stop_loss"] = _number(args.stop_loss, "--stop-loss", allow_none=True)
    rules = {"threshold": args.threshold, "threshold_type": args.threshold_type, "interval": args.interval,
             "weights": args.weights}
    if not changes and all(v is None for v in rules.values()):
        raise PortfolioCommandError("nothing to set: give --take-profit, --stop-loss, --threshold, --threshold-type, "
                                    "--interval or --weights")
    return _change(args, lambda s: {**changes, **rule_settings(s, **rules)},
                   _said({**changes, **{k: v for k, v in rules.items() if v is not None and k != "weights"},
                          **({"assets": args.weights} if args.weights else {})}))


def cmd_terminate(args: argparse.Namespace) -> int:
    how = "sell" if args.sell else "keep"
    _config, _url, store = _open(args)
    row = store.active()
    if row is None:
        raise PortfolioCommandError("no active portfolio in this database: nothing to terminate")
    engine = store.load(row)
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


def _target_file(args: argparse.Namespace) -> Path:
    if args.file:
        return Path(args.file)
    holding = []
    for path in args.config:
        try:
            if "smart_portfolio" in load_config_file(path):
                holding.append(path)
        except ConfigError as exc:
            raise PortfolioCommandError(str(exc)) from exc
    if not holding:
        raise PortfolioCommandError("no -c file holds smart_portfolio; name the file with --file")
    return Path(holding[-1])


def _change(args: argparse.Namespace, change: Any, said: str) -> int:
    config, url, store = _open(args)
    row = store.active()
    if row is None:
        raise PortfolioCommandError(f"{url} holds no active portfolio: start the bot first")
    target = _target_file(args)
    try:
        text = target.read_text(encoding="utf-8")
        edited = load_config_file(target)
    except (OSError, ConfigError) as exc:
        raise PortfolioCommandError(f"--file {target}: {exc}") from exc
    section = dict(edited.get("smart_portfolio") or config.get("smart_portfolio") or {})
    section.update(change(section))
    edited["smart_portfolio"] = section
    merged: dict[str, Any] = {}
    for path in args.config:
        merged = deep_merge(merged, edited if Path(path).resolve() == target.resolve() else load_config_file(path))
    if target.resolve() not in {Path(p).resolve() for p in args.config}:
        merged = deep_merge(merged, edited)
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
        _confirm(store, row.id, result.spec, before)
    except PortfolioCommandError as exc:
        _write_atomically(target, text)
        raise PortfolioCommandError(f"{exc}; {target} restored from {backup.name}") from exc
    print(f"{said}: written to {target} (backup {backup.name}); the bot reloaded and took it")
    return 0


def _write_atomically(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=path.parent)
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


def _confirm(store: Any, portfolio_id: str, wanted: Any, since: float) -> None:
    """Wait until the bot saved the new settings, or recorded why it refused them."""
    keys = ("investment", "take_profit", "stop_loss", "terminate", "on_exit", "mode", "threshold", "threshold_type",
            "interval", "assets")
    deadline = time.time() + CONFIRM_WITHIN
    while time.time() < deadline:
        store.session.rollback()  # a fresh read of what the bot committed
        view = store.view(portfolio_id)
        if view is not None and view.rejected:
            rejected = json.loads(view.rejected)
            if rejected.get("at", 0) >= since - 1:
                raise PortfolioCommandError("the bot refused the change: " + "; ".join(rejected.get("problems", [])))
        row = store.active()
        if row is not None and row.id == portfolio_id:
            saved = json.loads(row.state).get("spec", {})
            if all(saved.get(k) == wanted.to_dict().get(k) for k in keys):
                return
        time.sleep(1)
    raise PortfolioCommandError(f"the bot did not confirm the change within {CONFIRM_WITHIN:.0f} s")
