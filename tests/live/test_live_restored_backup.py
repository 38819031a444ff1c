"""A trade database restored from a backup, live on the replay exchange's signed API (issue 18 item 2): the
backup is taken after the basket, a rebalance then trades on the exchange, and the backup is put back. At start
the bot finds on the exchange the orders of its portfolio (their client order ids name it) that the database
does not know: it refuses, naming them and the command. `smartpf reconcile --apply` adopts them exactly; the
bot then resumes without an order. Checked on the exchange's ledger: nothing traded twice, nothing unasked, the
portfolio's cash never negative, holdings equal within a step."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time

import pytest

from smartpf.replay.runner import running_replay
from tests.live.test_live_bot import BASKET, PAIRS, exchange_orders
from tests.support.livebot import Ledger, LiveBot, finish

pytestmark = pytest.mark.e2e
JUMP = {"flat": True, "events": [{"pair": "ETH/USDT", "at": "25s", "change_pct": 20}]}


def smartpf(bot: LiveBot, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "smartpf.cli", *args, "-c", str(bot.config_path)],
                          capture_output=True, text=True, timeout=120)


def copy_database(source, target) -> None:
    """SQLite's online backup: a consistent copy while the bot writes."""
    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()


def portfolio_state(bot: LiveBot) -> dict:
    (row,) = bot._rows("SELECT state FROM smartpf_portfolio WHERE status = 'active'")
    return json.loads(row["state"])


def test_a_restored_backup_is_refused_at_start_then_adopted_exactly_never_traded_twice(tmp_path):
    with running_replay(clock="replay", scenario=JUMP, pairs=PAIRS, accounts=True, balances={"USDT": 2000}) as ex:
        bot = LiveBot(ex, tmp_path, dict(BASKET))
        ledger = Ledger("restored_backup", bot)
        backup = tmp_path / "backup.sqlite"
        bot.start()
        try:
            bot.wait_for("the initial basket", lambda: len(bot.filled("smartpf-entry")) == 2)
            copy_database(bot.db, backup)
            bot.wait_for("the rebalance buy", lambda: any(o["ft_order_side"] == "buy" for o in bot.filled("rb")),
                         timeout=150)
            ledger.check_holdings("the rebalance")
            assert bot.stop() == 130
            placed = exchange_orders(bot)
            assert [(o["symbol"], o["side"]) for o in placed[2:]] == [("ETHUSDT", "SELL"), ("BTCUSDT", "BUY")]
            pid = portfolio_state(bot)["portfolio_id"]
            copy_database(backup, bot.db)  # the backup put back: the rebalance is gone from the database

            mark = len(bot.log())
            bot.start()
            bot.wait_for("the refusal", lambda: not bot.alive(), timeout=120)
            said = bot.log()[mark:]
            assert bot.proc.returncode not in (0, None, 130), said[-3000:]
            assert "is behind the exchange" in said and "smartpf reconcile -c CONFIG --apply" in said
            for order in placed[2:]:
                assert f"order {order['orderId']} " in said, said[-3000:]
            assert "Traceback" not in said
            assert exchange_orders(bot) == placed  # nothing sent
            assert all(o["clientOrderId"].startswith(f"spf{pid}") for o in placed)  # every order names its portfolio

            # (--force: the backup was saved under 2 minutes ago, which the command takes for a running bot)
            applied = smartpf(bot, "reconcile", "--apply", "--force")
            assert applied.returncode == 0, applied.stdout + applied.stderr
            assert applied.stdout.count("adopted into the trade database as rb") == 2, applied.stdout
            check = smartpf(bot, "reconcile")
            assert check.returncode == 0, check.stdout + check.stderr  # exchange, database and portfolio agree
            state = portfolio_state(bot)
            assert state["cash"] >= 0 and state["seq"] >= 2

            mark = len(bot.log())
            bot.start()
            bot.wait_for("the resume", lambda: "smartpf: value" in bot.log()[mark:], timeout=90)
            time.sleep(10)  # loops go by: the rebalance is done, nothing to send
            assert exchange_orders(bot) == placed, exchange_orders(bot)
            ledger.check_holdings("the restart after adopting")
            assert ledger.duplicates() == [], ledger.duplicates()
            assert portfolio_state(bot)["cash"] >= 0
        finally:
            finish(bot, ledger, ex)
