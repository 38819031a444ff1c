"""The README's first hour, end to end, with no file edited by hand: ``smartpf init`` with custom coins on XT,
a ``freqtrade trade`` dry-run on the replay exchange speaking XT's API (user_data/config.replay-xt.json
first, the init config on top), then ``status``, ``add``, ``withdraw``, ``set --threshold``,
``terminate`` and ``status`` after the bot stopped, each command exactly as the README's quick start
runs it, from a fresh folder. Two things differ from the README, both ports: the replay exchange runs
on a free port (its config is written for it) and so does the bot's REST API (``--api-port``), so that
tests can run side by side. The trade database is the evidence."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from smartpf import paths
from smartpf.replay.runner import before_shutdown, freqtrade_command, freqtrade_env, running_replay
from tests.support.dryrun import free_port
from tests.support.exchanges import DATA

pytestmark = pytest.mark.e2e
COINS = "BTC=40,SOL=30,XRP=30"
PAIRS = ["BTC/USDT", "SOL/USDT", "XRP/USDT"]
SMARTPF = str(Path(sys.executable).parent / "smartpf")


def run(cwd: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([SMARTPF, *args], cwd=cwd, capture_output=True, text=True, timeout=180, input=stdin)


def ok(cwd: Path, *args: str) -> str:
    out = run(cwd, *args)
    assert out.returncode == 0, f"smartpf {' '.join(args)}: {out.stdout}{out.stderr}"
    return out.stdout


def orders(db: Path, prefix: str = "") -> list[dict]:
    if not db.exists():
        return []
    con = sqlite3.connect(db)
    con.row_factory = sqlite3.Row
    try:
        rows = con.execute("SELECT ft_pair, ft_order_side, status, ft_order_tag FROM orders").fetchall()
    except sqlite3.OperationalError:
        return []
    finally:
        con.close()
    return [dict(r) for r in rows if r["status"] == "closed" and (r["ft_order_tag"] or "").startswith(prefix)]


def open_trades(db: Path) -> int:
    con = sqlite3.connect(db)
    try:
        return con.execute("SELECT COUNT(*) FROM trades WHERE is_open = 1").fetchone()[0]
    finally:
        con.close()


def wait_for(what: str, predicate, bot: subprocess.Popen, log: Path, timeout: float = 150) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        assert bot.poll() is None, f"the bot exited while waiting for {what}:\n{log.read_text()[-3000:]}"
        time.sleep(1)
    raise AssertionError(f"timed out waiting for {what}\n{log.read_text()[-3000:]}")


def test_the_first_hour_from_init_to_a_stopped_bot(tmp_path):
    home = tmp_path  # a fresh folder with the strategy, as a clone has it
    (home / "strategies").symlink_to(paths.REPO_ROOT / "strategies")
    ok(home, "init", "--coins", COINS, "--exchange", "xt", "--investment", "1000", "--threshold", "2",
       "--api-port", str(free_port()), "-o", "user_data/config.json")
    config_file = home / "user_data" / "config.json"
    assert stat.S_IMODE(config_file.stat().st_mode) == 0o600
    ok(home, "validate", "-c", "user_data/config.json")
    db = home / "tradesv3.dryrun.sqlite"  # Freqtrade's default for a dry-run, as smartpf finds it
    with running_replay(clock="replay", scenario={"flat": True}, pairs=PAIRS, markets=DATA / "xt.json",
                        protocol="xt", timeframes=["1m"]) as ex:
        ex.write_config(home / "user_data" / "config.replay-xt.json")
        log = home / "freqtrade.log"
        with open(log, "w") as out:
            bot = subprocess.Popen(freqtrade_command("trade", "-c", "user_data/config.replay-xt.json",
                                                     "-c", "user_data/config.json"),
                                   cwd=home, stdout=out, stderr=subprocess.STDOUT, env=freqtrade_env())
        try:
            wait_for("the basket", lambda: len(orders(db, "smartpf-entry")) == 3, bot, log)
            cmd = ("-c", "user_data/config.json")
            wait_for("the basket booked", lambda: json.loads(ok(home, "status", *cmd, "--json"))["status"]
                     == "running", bot, log, timeout=60)
            text = ok(home, "status", *cmd)
            assert "running" in text and all(c in text for c in ("BTC", "SOL", "XRP"))

            assert "investment raised by 200" in ok(home, "add", *cmd, "200")
            wait_for("the deposit", lambda: len(orders(db, "dep")) >= 1, bot, log)
            assert "investment lowered by 100" in ok(home, "withdraw", *cmd, "100")
            wait_for("the withdrawal", lambda: len(orders(db, "wd")) >= 1, bot, log)
            assert "threshold 3" in ok(home, "set", *cmd, "--threshold", "3")
            view = json.loads(ok(home, "status", *cmd, "--json"))
            assert view["invested"] == pytest.approx(1100) and view["threshold"] == 3
            assert json.loads(config_file.read_text())["smart_portfolio"]["investment"] == 1100

            assert "sold at market" in ok(home, "terminate", *cmd, "--sell", "--yes")
            wait_for("every coin sold", lambda: open_trades(db) == 0 and len(orders(db, "exit")) == 3, bot, log)
            wait_for("terminated", lambda: json.loads(ok(home, "status", *cmd, "--json"))["status"]
                     == "terminated", bot, log, timeout=60)
        finally:
            bot.send_signal(signal.SIGINT)
            rc = bot.wait(60)
        assert rc in (0, 130)
        text = before_shutdown(log.read_text())
        assert "Traceback" not in text and " ERROR " not in text, text[-3000:]
        assert "coingecko" not in text.lower()  # no fiat converter asking the network at every start
        assert text.count("resumed portfolio") == 0  # a new portfolio, reloaded three times: never "resumed"
    after = ok(home, "status", *cmd)
    assert "the bot stopped (last seen" in after and "terminated" in after
    assert os.path.exists(config_file.with_name("config.json.bak"))
