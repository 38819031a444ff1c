"""The page's forms, carried out by the steering commands themselves (``smartpf.cli.steering``: the lock, the check
through the core, the next generation, the atomic write with its backup, the reload, the confirmation from the
database, the restore on refusal). The page only turns form fields into the commands' arguments and shows
what the command said."""

from __future__ import annotations

import contextlib
import io
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from smartpf.cli import steering as steer
from smartpf.cli.portfolio import PortfolioCommandError

from .reads import DB_LOCK, Source, database_problem, release_session

ACTION_LOCK = threading.Lock()  # one change at a time from this page (steer's file lock covers other processes)
KINDS = ("add", "withdraw", "set", "terminate")


@dataclass(frozen=True)
class Outcome:
    ok: bool
    message: str


@dataclass
class Steering:
    """Where the actions go: the bot's config and database (``source``), the file to edit and its REST API."""
    source: Source
    file: str | None = None
    bot_url: str | None = None

    def run(self, kind: str, form: Mapping[str, str]) -> Outcome:
        if kind not in KINDS:
            return Outcome(False, f"unknown action {kind!r}; the page offers {', '.join(KINDS)}")
        try:
            command, args = self._command(kind, form)
        except PortfolioCommandError as exc:
            return Outcome(False, str(exc))
        if not ACTION_LOCK.acquire(blocking=False):
            return Outcome(False, "another change from this page is still being applied; nothing changed, try again "
                           "when it is done")
        out = io.StringIO()
        try:
            with DB_LOCK, contextlib.redirect_stdout(out):
                command(args)
        except PortfolioCommandError as exc:  # the steering command's words, with serve's option for the bot's API
            return Outcome(False, str(exc).replace("(--url for another address)", "(serve --bot-url for another "
                                                   "address)"))
        except Exception as exc:  # noqa: BLE001 - a database error or a bug: one line on the page, no traceback
            problem = database_problem(exc) if _is_database_error(exc) else (
                f"unexpected error: {type(exc).__name__}: {exc}")
            return Outcome(False, problem)
        finally:
            with DB_LOCK:
                release_session()  # the command's session: no transaction left open beside the bot
            ACTION_LOCK.release()
        said = [line for line in out.getvalue().splitlines() if line.strip()]
        return Outcome(True, said[-1] if said else f"{kind} done")

    def _command(self, kind: str, form: Mapping[str, str]) -> tuple[Callable[[Any], int], Any]:
        base = {"file": self.file, "url": self.bot_url, "username": None, "password": None}
        field = {k: str(v).strip() for k, v in form.items()}
        if kind in ("add", "withdraw"):
            if not field.get("amount"):
                raise PortfolioCommandError("amount: empty; give an amount in the stake currency")
            return (steer.cmd_add if kind == "add" else steer.cmd_withdraw), self.source.args(
                amount=field["amount"], **base)
        if kind == "terminate":
            how = field.get("how")
            if how not in ("sell", "keep"):
                raise PortfolioCommandError(f"how {how!r}: choose sell (every coin sold) or keep (the coins stay)")
            return steer.cmd_terminate, self.source.args(sell=how == "sell", keep=how == "keep", yes=True, **base)
        threshold = field.get("threshold") or None
        threshold_type = field.get("threshold_type") or None
        if threshold_type not in (None, "absolute", "relative"):
            raise PortfolioCommandError(f"threshold type {threshold_type!r}: absolute or relative")
        wanted = {"take_profit": field.get("take_profit") or None, "stop_loss": field.get("stop_loss") or None,
                  "threshold": None if threshold is None else steer._number(threshold, "threshold"),
                  "threshold_type": threshold_type, "interval": field.get("interval") or None, "weights": None}
        if all(v is None for v in wanted.values()):
            raise PortfolioCommandError("nothing to set: fill in take-profit, stop-loss, threshold or interval")
        return steer.cmd_set, self.source.args(**wanted, **base)


def _is_database_error(exc: BaseException) -> bool:
    import sqlite3

    from sqlalchemy.exc import SQLAlchemyError

    return isinstance(exc, SQLAlchemyError | sqlite3.Error)
