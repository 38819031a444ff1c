"""Drive a real ``freqtrade trade --dry-run`` with SmartPortfolio against the replay exchange."""

from __future__ import annotations

import signal
import socket
import sqlite3
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from smartpf.freqtrade.export import read_export
from smartpf.replay.runner import freqtrade_command, freqtrade_env
from tests.support.freqtrade_runs import edit_settings, reload_config, smartpf_config


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class DryRun:
    def __init__(self, ex, workdir: Path, section: dict, db_url: str | None = None, **overrides) -> None:
        """``db_url``: run on that database (PostgreSQL, say) instead of ``workdir/trades.sqlite``."""
        self.workdir = workdir
        self.db_url = db_url
        if db_url:
            overrides["db_url"] = db_url
        self.port = free_port()
        api = {"enabled": True, "listen_ip_address": "127.0.0.1", "listen_port": self.port, "verbosity": "error",
               "enable_openapi": False, "jwt_secret_key": "smartpf-test-secret-0123456789abcdef",
               "ws_token": "smartpf-test",
               "CORS_origins": [], "username": "smartpf", "password": "smartpf"}
        self.config_path = smartpf_config(ex, workdir, section, timeframe="1m", api_server=api, **overrides)
        self.log_path = workdir / "freqtrade.log"
        self.proc: subprocess.Popen | None = None
        self.db = workdir / "trades.sqlite"  # the config's db_url; start(db=...) runs on another database
        self.user_data = workdir / "user_data"

    # process
    def start(self, env: dict | None = None, db: Path | None = None) -> None:
        if db is not None:
            self.db = db
        with open(self.log_path, "a") as log:
            self.proc = subprocess.Popen(
                freqtrade_command("trade", "-c", str(self.config_path), "--userdir", str(self.user_data),
                                  "--db-url", self.url()),
                stdout=log, stderr=subprocess.STDOUT, env=freqtrade_env(**(env or {})))

    def run_to_exit(self, timeout: float = 120) -> int:
        """Start and wait for the bot to exit by itself (a refusal)."""
        self.start()
        self.wait_for("exit", lambda: not self.alive(), timeout=timeout)
        return self.proc.returncode

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGINT)
        return self.proc.wait(60)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    # what happened
    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def text(self) -> str:
        """The log without any whitespace: Freqtrade's console wraps long lines, even inside words, and
        drops the space at some breaks. Compare with ``says``."""
        return "".join(self.log().split())

    def says(self, fragment: str, since: int = 0) -> bool:
        """Whether the log (from character ``since`` of ``text()``) contains ``fragment``, wrapping aside."""
        return "".join(fragment.split()) in self.text()[since:]

    def url(self) -> str:
        return self.db_url or f"sqlite:///{self.db}"

    def _other_db(self, query: str, args: tuple = ()) -> list[dict]:
        """Rows from a database that is not SQLite (``?`` placeholders, as for sqlite3)."""
        from sqlalchemy import create_engine, text
        from sqlalchemy.exc import ProgrammingError

        parts = query.split("?")
        named = parts[0] + "".join(f":p{i}{part}" for i, part in enumerate(parts[1:]))
        engine = create_engine(self.db_url)
        try:
            with engine.connect() as con:
                return [dict(r._mapping) for r in con.execute(text(named), {f"p{i}": a for i, a in enumerate(args)})]
        except ProgrammingError:  # the table does not exist yet
            return []
        finally:
            engine.dispose()

    def sql(self, query: str, args: tuple = ()) -> list[dict]:
        """Rows from the trade database (empty if it or the table does not exist yet)."""
        if self.db_url:
            return self._other_db(query, args)
        if not self.db.exists():
            return []
        con = sqlite3.connect(self.db)
        con.row_factory = sqlite3.Row
        try:
            return [dict(r) for r in con.execute(query, args).fetchall()]
        except sqlite3.OperationalError:
            return []
        finally:
            con.close()

    def portfolios(self) -> list[dict]:
        return self.sql("SELECT id, status, seq, state FROM smartpf_portfolio ORDER BY created_at")

    def active_id(self) -> str | None:
        rows = [r for r in self.portfolios() if r["status"] == "active"]
        return rows[-1]["id"] if rows else None

    def orders(self) -> list[dict]:
        if self.db_url:
            return self._other_db("SELECT ft_pair, ft_order_side, amount, filled, average, status, ft_order_tag "
                                  "FROM orders ORDER BY id")
        db = self.db
        if not db.exists():
            return []
        con = sqlite3.connect(db)
        con.row_factory = sqlite3.Row
        try:
            rows = con.execute("SELECT ft_pair, ft_order_side, amount, filled, average, status, ft_order_tag "
                               "FROM orders ORDER BY id").fetchall()
        except sqlite3.OperationalError:
            return []
        finally:
            con.close()
        return [dict(r) for r in rows]

    def filled(self, prefix: str = "") -> list[dict]:
        return [o for o in self.orders() if o["status"] == "closed" and (o["ft_order_tag"] or "").startswith(prefix)]

    def open_trades(self) -> int:
        if self.db_url:
            return len(self._other_db("SELECT id FROM trades WHERE is_open"))
        con = sqlite3.connect(self.db)
        try:
            return con.execute("SELECT COUNT(*) FROM trades WHERE is_open = 1").fetchone()[0]
        finally:
            con.close()

    def state(self) -> dict:
        """The JSON export of the database's active portfolio (what the bot saved at its last loop)."""
        pid = self.active_id()
        return (read_export(self.user_data, pid) or {}) if pid else {}

    def wait_for(self, what: str, predicate: Callable[[], object], timeout: float = 150) -> object:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            result = predicate()
            if result:
                return result
            if self.proc is not None and self.proc.poll() is not None and what != "exit":
                break
            time.sleep(1)
        raise AssertionError(f"timed out waiting for {what}; orders={self.orders()}\n--- log tail ---\n"
                             + "\n".join(self.log().splitlines()[-60:]))

    # runtime changes
    def edit(self, **changes) -> None:
        edit_settings(self.config_path, changes)

    def reload(self) -> None:
        reload_config(self.port)
