"""Drive a real ``freqtrade trade`` with ``dry_run: false`` and SmartPortfolio against the replay
exchange's accounts, and read both sides: the bot's trade database and the exchange's ledger."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from smartpf import paths
from smartpf.replay.runner import LIVE_CONFIGS, ReplayExchange, before_shutdown, freqtrade_command
from tests.support.freqtrade_runs import edit_settings, reload_config

STRATEGIES = paths.REPO_ROOT / "strategies"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveBot:
    """One bot in its own folder: config, user_data, trade database (``trades.sqlite``) and log."""

    def __init__(self, ex: ReplayExchange, workdir: Path, section: dict, **overrides: object) -> None:
        self.ex = ex
        self.workdir = workdir
        self.port = free_port()
        self.db = workdir / "trades.sqlite"
        pairs = [f"{coin}/USDT" for coin in section["assets"]]
        api = {"enabled": True, "listen_ip_address": "127.0.0.1", "listen_port": self.port, "verbosity": "error",
               "enable_openapi": False, "jwt_secret_key": "smartpf-test-secret-0123456789abcdef",
               "ws_token": "smartpf-test", "CORS_origins": [], "username": "smartpf", "password": "smartpf"}
        config = ex.config_for(LIVE_CONFIGS[ex.protocol], {
            "strategy": "SmartPortfolio", "strategy_path": str(STRATEGIES), "timeframe": "1m",
            "bot_name": f"smartpf-live-{workdir.name}", "max_open_trades": len(pairs),
            "tradable_balance_ratio": 1.0, "db_url": f"sqlite:///{self.db}", "smart_portfolio": section,
            "api_server": api, "exchange": {"pair_whitelist": pairs}})
        config.update(overrides)
        (workdir / "user_data").mkdir(parents=True, exist_ok=True)
        self.config_path = workdir / "config.json"
        self.config_path.write_text(json.dumps(config, indent=2))
        self.log_path = workdir / "freqtrade.log"
        self.proc: subprocess.Popen | None = None

    # process ----------------------------------------------------------------------------------
    def start(self) -> None:
        with open(self.log_path, "a") as log:
            self.proc = subprocess.Popen(
                freqtrade_command("trade", "-c", str(self.config_path), "--userdir", str(self.workdir / "user_data")),
                stdout=log, stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "1000"})  # no wrapped log lines

    def stop(self) -> int:
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                return self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        return self.proc.wait(10)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """kill -9: no shutdown, no last write."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def log_has(self, text: str) -> bool:
        """``text`` is in the log, whitespace (a wrapped line) ignored."""
        return " ".join(text.split()) in " ".join(self.log().split())

    # the bot's side: its trade database -----------------------------------------------------------
    def _rows(self, sql: str) -> list[dict]:
        if not self.db.exists():
            return []
        con = sqlite3.connect(self.db)
        con.row_factory = sqlite3.Row
        try:
            return [dict(r) for r in con.execute(sql).fetchall()]
        except sqlite3.OperationalError:
            return []
        finally:
            con.close()

    def orders(self) -> list[dict]:
        return self._rows("SELECT ft_pair, ft_order_side, order_id, amount, filled, average, status, ft_order_tag "
                          "FROM orders ORDER BY id")

    def filled(self, prefix: str = "") -> list[dict]:
        return [o for o in self.orders() if o["status"] == "closed" and (o["ft_order_tag"] or "").startswith(prefix)]

    def open_trades(self) -> list[dict]:
        return self._rows("SELECT pair, amount FROM trades WHERE is_open = 1")

    def holdings(self) -> dict[str, float]:
        """The bot's coins: its open trades' amounts, by asset."""
        out: dict[str, float] = {}
        for t in self.open_trades():
            base = t["pair"].split("/")[0]
            out[base] = out.get(base, 0.0) + t["amount"]
        return out

    def open_orders(self) -> list[dict]:
        return [o for o in self.orders() if o["status"] == "open"]

    # both sides ---------------------------------------------------------------------------------
    def holdings_gap(self) -> dict[str, float]:
        """Per coin: |bot's holding - exchange's balance (free + locked)|, for every coin either side has."""
        account = self.ex.account()["balances"]
        bot = self.holdings()
        coins = (set(bot) | {a for a in account if a != "USDT"})
        return {c: abs(bot.get(c, 0.0) - sum(float(account.get(c, {}).get(k, 0)) for k in ("free", "locked")))
                for c in coins}

    def wait_for(self, what: str, predicate: Callable[[], object], timeout: float = 150) -> object:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            result = predicate()
            if result:
                return result
            if self.proc is not None and self.proc.poll() is not None:
                break
            time.sleep(0.5)
        raise AssertionError(f"timed out waiting for {what}; orders={self.orders()}\n"
                             f"exchange={json.dumps(self.ex.account()['balances'])}\n--- log tail ---\n"
                             + "\n".join(self.log().splitlines()[-60:]))

    def settled(self) -> bool:
        """No order open on either side (the moment to compare holdings)."""
        return not self.open_orders() and not any(o["status"] in ("NEW", "PARTIALLY_FILLED")
                                                  for o in self.ex.account()["orders"])

    # runtime changes ------------------------------------------------------------------------------
    def edit(self, **changes: object) -> None:
        edit_settings(self.config_path, changes)

    def reload(self) -> None:
        reload_config(self.port)


def steps(ex: ReplayExchange) -> dict[str, float]:
    """Each served coin's lot step, from the rules the exchange enforces (any protocol)."""
    return {coin: float(step) for coin, step in ex.account()["steps"].items()}


def prices(ex: ReplayExchange, coins: list[str]) -> dict[str, float]:
    """The last price of each coin in USDT, asked in the server's protocol."""
    out = {}
    for coin in coins:
        if ex.protocol == "okx":
            status, body = ex.get("/api/v5/market/ticker", instId=f"{coin}-USDT")
            price = body["data"][0]["last"] if isinstance(body, dict) else None
        elif ex.protocol == "xt":
            status, body = ex.get("/v4/public/ticker/price", symbol=f"{coin.lower()}_usdt")
            price = body["result"][0]["p"] if isinstance(body, dict) else None
        else:
            status, body = ex.get("/api/v3/ticker/price", symbol=f"{coin}USDT")
            price = body["price"] if isinstance(body, dict) else None
        assert status == 200 and price is not None, (status, body)
        out[coin] = float(price)
    return out


class Ledger:
    """What the e2e tests measured: orders placed and the largest bot-vs-exchange holdings gap, in
    steps of the coin's lot size. Appended to ``$SMARTPF_LIVE_REPORT`` (JSON lines) when set."""

    def __init__(self, name: str, bot: LiveBot) -> None:
        self.name, self.bot = name, bot
        self.steps = steps(bot.ex)
        self.max_gap_steps = 0.0
        self.max_gap: dict[str, float] = {}
        self.checks = 0
        self.outside: set[str] = set()  # exchange order ids placed outside the bot on purpose (by the test)

    def check_holdings(self, what: str) -> None:
        """Once nothing is open on either side: every coin's gap is within one lot step."""
        bot = self.bot
        bot.wait_for(f"no open order after {what}", bot.settled, timeout=60)
        gaps = bot.holdings_gap()
        for coin, gap in gaps.items():
            in_steps = gap / self.steps[coin]
            self.max_gap_steps = max(self.max_gap_steps, in_steps)
            self.max_gap[coin] = max(self.max_gap.get(coin, 0.0), gap)
            assert in_steps <= 1.0 + 1e-9, (what, coin, gap, bot.holdings(), bot.ex.account()["balances"])
        self.checks += 1

    def duplicates(self) -> list[str]:
        """Orders sent twice, on the ledger: an exchange order the trade database does not know (an orphan
        left behind), or two filled orders carrying the same engine tag (the same order placed again)."""
        ours = {o["order_id"]: o for o in self.bot.orders()}
        found = [f"exchange order {o['orderId']} ({o['symbol']} {o['side']} {o['executedQty']}) not in the "
                 "trade database" for o in self.bot.ex.account()["orders"]
                 if str(o["orderId"]) not in ours and str(o["orderId"]) not in self.outside
                 and float(o["executedQty"]) > 0]
        seen: dict[tuple, int] = {}
        for o in ours.values():
            if (o["filled"] or 0) > 0:
                key = (o["ft_pair"], o["ft_order_side"], o["ft_order_tag"])
                seen[key] = seen.get(key, 0) + 1
        found += [f"{key} filled {n} times" for key, n in seen.items() if n > 1]
        return found

    def write(self) -> None:
        path = os.environ.get("SMARTPF_LIVE_REPORT")
        account = self.bot.ex.account()
        row = {"test": self.name, "orders_placed": len(account["orders"]), "trades": len(account["trades"]),
               "rejections": len(account["rejections"]), "holdings_checks": self.checks,
               "duplicates": len(self.duplicates()), "max_gap_steps": round(self.max_gap_steps, 4),
               "max_gap": {c: float(f"{g:.10f}") for c, g in sorted(self.max_gap.items())},
               "unknown_paths": self.bot.ex.state()["unknown_paths"]}
        if path:
            with open(path, "a") as f:
                f.write(json.dumps(row) + "\n")


def finish(bot: LiveBot, ledger: Ledger, ex: ReplayExchange) -> None:
    """End of every live test (call it in ``finally``): stop the bot, write the ledger report, then check the
    bot stopped cleanly (SIGINT, no traceback outside Freqtrade's own shutdown) and asked the exchange for
    nothing it does not answer. While a test's own failure is in flight, only the clean-up runs."""
    rc = bot.stop()
    ledger.write()
    if sys.exc_info()[0] is not None:
        return
    assert rc == 130, bot.log()[-3000:]
    assert "Traceback" not in before_shutdown(bot.log())
    unknown = ex.state()["unknown_paths"]
    assert not unknown, unknown  # the live path asks for nothing the exchange does not answer
