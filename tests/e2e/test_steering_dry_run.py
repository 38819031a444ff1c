"""End-to-end, offline: see and steer a running portfolio from the command line (status, why, records, add,
set, terminate) against a real `freqtrade trade --dry-run` with its REST API on 127.0.0.1."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import time

import pytest

from smartpf.replay.runner import running_replay
from tests.support.dryrun import DryRun
from tests.support.pg import postgres  # noqa: F401 - the PostgreSQL server fixture

pytestmark = pytest.mark.e2e
BASKET = {"assets": {"BTC": 50, "ETH": 50}, "investment": 1000, "threshold": 3}
PAIRS = ["BTC/USDT", "ETH/USDT"]
HEADER = ["time", "operation_id", "operation_kind", "trigger", "pair", "side", "quantity", "price", "fee"]


def smartpf(bot: DryRun, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "smartpf.cli", args[0], "-c", str(bot.config_path), "--db-url", bot.url(),
           *args[1:]]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=150, input=stdin)


def status(bot: DryRun) -> dict:
    out = smartpf(bot, "status", "--json")
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def basket(bot: DryRun) -> None:
    bot.wait_for("the basket", lambda: len(bot.filled("smartpf-entry")) == 2)
    bot.wait_for("the basket booked", lambda: status(bot)["status"] == "running" and status(bot)["prices_at"])


def test_status_why_records_add_and_a_take_profit_set_from_the_command_line(tmp_path):
    scenario = {"flat": True, "events": [{"pair": "BTC/USDT", "at": "200s", "change_pct": 14}]}
    with running_replay(clock="replay", scenario=scenario, pairs=PAIRS) as ex:
        bot = DryRun(ex, tmp_path, dict(BASKET))
        bot.start()
        try:
            basket(bot)
            view = status(bot)
            assert {c["pair"] for c in view["coins"]} == set(PAIRS)
            assert sum(c["actual_pct"] for c in view["coins"]) + view["cash_pct"] == pytest.approx(100)
            assert all(c["band_low_pct"] == pytest.approx(47) and c["band_high_pct"] == pytest.approx(53)
                       for c in view["coins"])
            assert view["invested"] == 1000 and 990 < view["value"] < 1001
            assert [k for k in json.dumps(view).split('"') if k.startswith("actual")] == ["actual_pct"] * 2
            text = smartpf(bot, "status")
            assert text.returncode == 0 and "BTC" in text.stdout and "old)" in text.stdout

            why = smartpf(bot, "why")
            assert why.returncode == 0 and "below_threshold" in why.stdout or "waiting_for_check" in why.stdout

            out = tmp_path / "records.csv"
            rec = smartpf(bot, "records", "--csv", str(out))
            assert rec.returncode == 0, rec.stderr
            rows = list(csv.reader(out.open()))
            assert rows[0] == HEADER and len(rows) == 3
            assert {(r[2], r[4], r[5]) for r in rows[1:]} == {("initial", p, "buy") for p in PAIRS}

            held = {c["pair"]: c["holding"] for c in view["coins"]}
            add = smartpf(bot, "add", "200")
            assert add.returncode == 0, add.stdout + add.stderr
            bot.wait_for("the deposit", lambda: len(bot.filled("dep")) == 2)
            bot.wait_for("the deposit booked", lambda: status(bot)["status"] == "running")
            after = status(bot)
            assert after["invested"] == 1200
            assert all(c["holding"] > held[c["pair"]] for c in after["coins"])  # towards target
            assert json.loads(bot.config_path.read_text())["smart_portfolio"]["investment"] == 1200

            before = bot.config_path.read_text()
            wrong = smartpf(bot, "set", "--take-profit", "5", "--password", "not-the-password")
            assert wrong.returncode == 2 and "refused the credentials" in wrong.stderr
            assert "not-the-password" not in wrong.stdout + wrong.stderr
            assert bot.config_path.read_text() == before  # restored

            bad = smartpf(bot, "set", "--take-profit", "-3")
            assert bad.returncode == 2 and "take_profit" in bad.stderr and bot.config_path.read_text() == before

            tp = smartpf(bot, "set", "--take-profit", "5")
            assert tp.returncode == 0, tp.stdout + tp.stderr
            assert status(bot)["take_profit"] == 5
            # BTC +14 % at 200 s: the portfolio's profit crosses +5 %: everything sold, the portfolio terminated
            bot.wait_for("the take-profit", lambda: bot.open_trades() == 0 and len(bot.filled("exit")) == 2,
                         timeout=240)
            bot.wait_for("terminated", lambda: status(bot)["status"] == "terminated", timeout=30)
        finally:
            bot.stop()
        gone = smartpf(bot, "add", "10")  # a terminated portfolio takes no more changes: refused at once
        assert gone.returncode == 2 and "is terminated" in gone.stderr
        assert json.loads(bot.config_path.read_text())["smart_portfolio"]["investment"] == 1200


@pytest.mark.parametrize("how", ["sell", "keep"])
def test_terminate_from_the_command_line(tmp_path, how):
    with running_replay(clock="replay", scenario={"flat": True}, pairs=PAIRS) as ex:
        bot = DryRun(ex, tmp_path, dict(BASKET))
        bot.start()
        try:
            basket(bot)
            unasked = smartpf(bot, "terminate", f"--{how}", stdin="")
            assert unasked.returncode == 2 and "not confirmed" in unasked.stderr
            assert "terminate" not in json.loads(bot.config_path.read_text())["smart_portfolio"]
            done = smartpf(bot, "terminate", f"--{how}", "--yes")
            assert done.returncode == 0, done.stdout + done.stderr
            assert ("sold at market" if how == "sell" else "stay in the account") in done.stdout
            if how == "sell":
                bot.wait_for("every coin sold", lambda: bot.open_trades() == 0 and len(bot.filled("exit")) == 2)
            bot.wait_for("terminated", lambda: status(bot)["status"] == "terminated", timeout=30)
            count = len(bot.orders())
            time.sleep(15)
            assert len(bot.orders()) == count  # nothing bought again (sell), no order at all (keep)
            assert bot.open_trades() == (0 if how == "sell" else 2)
        finally:
            bot.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    """The trade database: SQLite in the test's folder, or a fresh database on a real PostgreSQL server."""
    if request.param == "sqlite":
        return None
    return request.getfixturevalue("postgres").new_database()


def test_two_concurrent_adds_apply_once_and_a_stale_file_never_withdraws(tmp_path, db_url):
    """Issue 18, item 1, with the real bot (on SQLite and on PostgreSQL): two `smartpf add 100` at once are both
    applied (1200, generation 2), the file and the bot agree; the config restored from before (1000, no generation)
    and reloaded is refused, nothing is sold; a restart on that file is refused too; `set` on it is refused with
    nothing written. Put right, the bot resumes its portfolio from the database, and after its clean stop
    `reset` is allowed at once."""
    with running_replay(clock="replay", scenario={"flat": True}, pairs=PAIRS) as ex:
        bot = DryRun(ex, tmp_path, dict(BASKET), db_url=db_url)
        original = bot.config_path.read_text()
        bot.start()
        try:
            basket(bot)
            cmd = [sys.executable, "-m", "smartpf.cli", "add", "-c", str(bot.config_path), "100"]
            adds = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                    for _ in range(2)]
            outs = [p.communicate(timeout=300) for p in adds]
            assert [p.returncode for p in adds] == [0, 0], outs
            section = json.loads(bot.config_path.read_text())["smart_portfolio"]
            assert (section["investment"], section["generation"]) == (1200, 2)
            bot.wait_for("the deposits booked", lambda: status(bot)["invested"] == 1200 and status(bot)["status"]
                         == "running" and len(bot.filled("dep")) >= 2)

            bot.config_path.write_text(original)  # a backup from before both adds, restored
            mark = len(bot.text())
            bot.reload()
            bot.wait_for("the stale file refused", lambda: bot.says("older than the settings in force", mark))
            stale = smartpf(bot, "set", "--take-profit", "60")
            assert stale.returncode == 2 and "older than the settings in force" in stale.stderr
            assert bot.config_path.read_text() == original  # nothing written
            assert status(bot)["invested"] == 1200
            assert not [o for o in bot.orders() if o["ft_order_side"] == "sell"]  # no unasked withdrawal
        finally:
            bot.stop()
        assert bot.run_to_exit() != 0 and bot.says("the bot will not start")  # nor on a restart
        assert not [o for o in bot.orders() if o["ft_order_side"] == "sell"]

        config = json.loads(original)
        config["smart_portfolio"].update(investment=1200, generation=2)
        bot.config_path.write_text(json.dumps(config))
        mark = len(bot.text())
        bot.start()
        try:
            bot.wait_for("the portfolio resumed", lambda: bot.says("resumed portfolio", mark))
            assert status(bot)["invested"] == 1200
        finally:
            bot.stop()
        reset = smartpf(bot, "reset")  # right after a clean stop: no --force needed
        assert reset.returncode == 0 and "archived" in reset.stdout, reset.stdout + reset.stderr
