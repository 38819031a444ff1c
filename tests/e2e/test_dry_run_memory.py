"""End-to-end, offline: the bot's memory belongs to the trade database it describes.

Each test is a real `freqtrade trade --dry-run` against the replay exchange, checked on the trade
database (orders, open trades, smartpf's own tables), not only on the log. They reproduce the cases
of issue 7: a new database, a lost / null / foreign / unreadable state, two bots with one name, a
version-1 file imported once, adopt, reset.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from smartpf.freqtrade.statefile import export_path, legacy_path
from smartpf.replay.runner import running_replay
from tests.support.dryrun import DryRun

pytestmark = pytest.mark.e2e
BASKET = {"assets": {"BTC": 50, "ETH": 50}, "investment": 1000, "threshold": 1}
PAIRS = ["BTC/USDT", "ETH/USDT"]
QUIET = 15  # seconds watched for orders that must not come


def entries(bot: DryRun) -> list[dict]:
    return bot.filled("smartpf-entry")


def basket_bought(bot: DryRun) -> list[dict]:
    return bot.wait_for("the basket", lambda: len(entries(bot)) == 2 and entries(bot))


def smartpf_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "smartpf.cli", *args], capture_output=True, text=True, timeout=120)


def assert_quiet(bot: DryRun, seconds: float = QUIET) -> None:
    """No order at all for ``seconds`` while the bot runs."""
    count = len(bot.orders())
    time.sleep(seconds)
    assert bot.alive(), bot.log()[-3000:]
    assert len(bot.orders()) == count, bot.orders()


def test_a_new_database_is_a_new_portfolio_and_files_never_override_the_database(tmp_path):
    """Database A buys the basket. Its export replaced by `null` and another bot's state file in this bot's
    place change nothing: A resumes, no order. Database B (dry-run -> live uses another database) starts a new
    portfolio and buys its own basket, never a false loss (stop_loss 20 stays untriggered)."""
    with running_replay(clock="replay", scenario={"flat": True}, pairs=PAIRS) as ex:
        bot = DryRun(ex, tmp_path, {**BASKET, "stop_loss": 20})
        db_a = bot.db
        bot.start()
        try:
            basket_bought(bot)
            first = bot.active_id()
        finally:
            bot.stop()
        export_path(bot.user_data, first).write_text("null")
        stranger = {"engine": {"version": 1, "spec": {"assets": {"BTC": 50, "SOL": 50}, "investment": 2000},
                               "status": "running", "started_at": 1.0, "holdings": {"BTC/USDT": 0.01,
                               "SOL/USDT": 5.0}, "cash": 0.0, "invested": 2000, "seq": 9}}
        legacy_path(bot.user_data, json.loads(bot.config_path.read_text())["bot_name"]).parent.mkdir(exist_ok=True)
        legacy_path(bot.user_data, json.loads(bot.config_path.read_text())["bot_name"]).write_text(
            json.dumps(stranger))
        bot.start()
        try:
            bot.wait_for("the resume", lambda: bot.says("resumed portfolio"))
            assert_quiet(bot)
            assert bot.active_id() == first and bot.open_trades() == 2
            assert bot.state()["engine"]["invested"] == 1000
        finally:
            bot.stop()
        assert "newportfolio" not in bot.text().split("resumedportfolio")[-1]

        bot.start(db=tmp_path / "other.sqlite")
        try:
            bought = basket_bought(bot)
            assert {o["ft_pair"] for o in bought} == set(PAIRS)
            second = bot.active_id()
            assert second and second != first
            assert all(o["ft_order_tag"] == f"smartpf-entry@{second}" for o in bought)
            assert bot.says("does not describe this trade database")  # the stranger's file: not imported
            assert_quiet(bot, 8)
            assert bot.state()["engine"]["status"] == "running"  # no false stop-loss
        finally:
            bot.stop()
        bot.db = db_a
        assert len(entries(bot)) == 2  # A untouched


def test_lost_portfolio_is_refused_then_adopted_and_resumed_without_an_order(tmp_path):
    """The portfolio rows vanish while two trades are open: the bot refuses to start (it would buy the basket a
    second time), naming the open trades and the commands; `smartpf adopt` takes them; the bot resumes and
    places no order."""
    with running_replay(clock="replay", scenario={"flat": True}, pairs=PAIRS) as ex:
        bot = DryRun(ex, tmp_path, {**BASKET, "take_profit": 50})
        bot.start()
        try:
            basket_bought(bot)
        finally:
            bot.stop()
        amounts = {r["pair"]: r["amount"] for r in bot.sql("SELECT pair, amount FROM trades WHERE is_open = 1")}
        import sqlite3
        con = sqlite3.connect(bot.db)
        con.execute("DELETE FROM smartpf_portfolio")
        con.execute("DELETE FROM smartpf_record")
        con.commit()
        con.close()
        orders = len(bot.orders())

        rc = bot.run_to_exit()
        assert rc not in (0, None, 130), bot.log()[-3000:]
        assert bot.says("open trades but no portfolio") and bot.says("smartpf adopt -c CONFIG")
        assert bot.says("smartpf reset -c CONFIG") and not bot.says("Traceback")
        assert len(bot.orders()) == orders

        adopt = smartpf_cli("adopt", "-c", str(bot.config_path), "--db-url", f"sqlite:///{bot.db}")
        assert adopt.returncode == 0, adopt.stdout + adopt.stderr
        assert "adopted 2 open trades" in adopt.stdout
        again = smartpf_cli("adopt", "-c", str(bot.config_path), "--db-url", f"sqlite:///{bot.db}")
        assert again.returncode == 2 and "already holds portfolio" in again.stderr

        bot.start()
        try:
            bot.wait_for("the resume", lambda: bot.says("resumed portfolio"))
            assert_quiet(bot)
            state = bot.state()["engine"]
            assert state["holdings"] == pytest.approx(amounts)
            assert state["invested"] == 1000 and state["status"] == "running"
            value = bot.state()["details"]["value"]
            assert 990 < value < 1001  # not doubled, not zero
        finally:
            bot.stop()


def test_terminated_stays_terminated_without_asking_for_entries_until_reset(tmp_path):
    """Terminate with `sell`: every coin sold. A restart is not refused and trades nothing, without asking
    Freqtrade for entries; `smartpf reset` (refused while the bot runs) archives it and the next start buys a
    new basket under a new portfolio id."""
    with running_replay(clock="replay", scenario={"flat": True}, pairs=PAIRS) as ex:
        bot = DryRun(ex, tmp_path, dict(BASKET))
        bot.start()
        try:
            basket_bought(bot)
            first = bot.active_id()
            bot.edit(terminate="sell")
            bot.reload()
            bot.wait_for("every coin sold", lambda: bot.open_trades() == 0 and len(bot.filled("exit")) == 2)
            bot.wait_for("the termination", lambda: bot.state()["engine"]["status"] == "terminated", timeout=20)
        finally:
            bot.stop()
        bot.edit(terminate=None)  # the user removes the key: a terminated portfolio stays terminated
        mark = len(bot.text())
        bot.start()
        try:
            bot.wait_for("the terminated notice", lambda: bot.says("is terminated", mark))
            assert_quiet(bot)
            assert bot.text()[mark:].count("Walletssynced.") <= 4  # no entry attempts every few seconds
            busy = smartpf_cli("reset", "-c", str(bot.config_path), "--db-url", f"sqlite:///{bot.db}")
            assert busy.returncode == 2 and "seems to be running" in busy.stderr
        finally:
            bot.stop()
        reset = smartpf_cli("reset", "-c", str(bot.config_path), "--db-url", f"sqlite:///{bot.db}", "--force")
        assert reset.returncode == 0, reset.stdout + reset.stderr
        assert f"portfolio {first} (terminated) archived" in reset.stdout
        bot.start()
        try:
            bot.wait_for("a new basket", lambda: len(entries(bot)) == 4)
            second = bot.active_id()
            assert second != first
            assert [p["status"] for p in bot.portfolios()] == ["archived", "active"]
            assert bot.open_trades() == 2
        finally:
            bot.stop()


def test_two_bots_with_one_name_on_two_databases_keep_their_own_portfolios(tmp_path):
    """Same bot_name, same user_data, two databases, running at once: each has its own portfolio; nothing
    flips between them and neither buys twice."""
    with running_replay(clock="replay", scenario={"flat": True}, pairs=PAIRS) as ex:
        one = DryRun(ex, tmp_path / "one", dict(BASKET), bot_name="twin")
        two = DryRun(ex, tmp_path / "two", dict(BASKET), bot_name="twin")
        two.user_data = one.user_data
        one.start()
        try:
            basket_bought(one)  # then the second: two Freqtrades creating one user_data at once race on mkdir
            two.start()
            basket_bought(two)
            time.sleep(QUIET)
            assert len(one.orders()) == 2 and len(two.orders()) == 2
            assert one.active_id() != two.active_id()
            assert len(one.portfolios()) == 1 and len(two.portfolios()) == 1
            assert one.state()["portfolio_id"] == one.active_id()
            assert two.state()["portfolio_id"] == two.active_id()
        finally:
            one.stop()
            two.stop()


def version_1_mid_purchase(bot: DryRun, row: dict) -> dict:
    """The state smartpf 0.1 saved when stopped between the basket's fills and its next loop (the timing that made
    the import buy the basket twice): the initial purchase under way, its orders still "planned", nothing booked,
    no records, no portfolio id. Its database is made the way 0.1 wrote it: the plain entry tag."""
    engine = json.loads(row["state"])
    engine.pop("records_tail")
    engine.pop("portfolio_id")
    orders = [{"id": f"init1:buy:{o['ft_pair']}", "op_id": "init1", "pair": o["ft_pair"], "side": "buy",
               "amount": o["amount"], "price": o["average"], "full": False, "status": "planned"}
              for o in entries(bot)]
    engine.update(version=1, seq=1, records=[], status="new", holdings={}, cash=1000, invested=1000,
                  hodl={"holdings": {}, "cash": 1000}, op={"id": "init1", "kind": "initial", "phase": "buy",
                                                           "orders": orders},
                  counters={"orders": 0, "fees": 0.0, "turnover": 0.0, "rebalances": 0})
    import sqlite3
    con = sqlite3.connect(bot.db)
    con.execute("UPDATE orders SET ft_order_tag = 'smartpf-entry' WHERE ft_order_tag LIKE 'smartpf-entry@%'")
    con.execute("UPDATE trades SET enter_tag = 'smartpf-entry'")
    con.commit()
    con.close()
    return engine


def test_a_version_1_state_file_is_imported_once_and_an_unreadable_one_is_named(tmp_path):
    """Today's users have `user_data/smartpf/<bot_name>.json` (version 1). An empty one refuses the start naming
    the file; one whose trades are in the database is imported once (sequence past every id the database has
    seen), then the bot resumes without an order. The file is the one 0.1 left when stopped mid-purchase (the
    case that bought the basket twice, one run in four under load): deterministic, whatever the timing."""
    with running_replay(clock="replay", scenario={"flat": True}, pairs=PAIRS) as ex:
        bot = DryRun(ex, tmp_path, dict(BASKET))
        bot.start()
        try:
            basket_bought(bot)
        finally:
            bot.stop()
        (row,) = bot.portfolios()
        engine = version_1_mid_purchase(bot, row)
        amounts = {r["pair"]: r["amount"] for r in bot.sql("SELECT pair, amount FROM trades WHERE is_open = 1")}
        import sqlite3
        con = sqlite3.connect(bot.db)
        con.execute("DELETE FROM smartpf_portfolio")
        con.execute("DELETE FROM smartpf_record")
        # an id seen before: an old rebalance sell the exchange cancelled (it moved nothing)
        con.execute("INSERT INTO orders (ft_trade_id, ft_order_side, ft_pair, ft_is_open, ft_amount, ft_price, "
                    "order_id, status, symbol, order_type, side, price, amount, filled, remaining, cost, order_date, "
                    "ft_order_tag) SELECT ft_trade_id, 'sell', ft_pair, 0, ft_amount, ft_price, 'v1-old-sell', "
                    "'canceled', symbol, order_type, 'sell', price, amount, 0, amount, 0, order_date, "
                    "'rb7:sell:ETH/USDT' FROM orders WHERE ft_pair = 'ETH/USDT' LIMIT 1")
        con.commit()
        con.close()
        legacy = legacy_path(bot.user_data, json.loads(bot.config_path.read_text())["bot_name"])
        legacy.parent.mkdir(exist_ok=True)

        legacy.write_text("")
        assert bot.run_to_exit() not in (0, None, 130)
        assert bot.says(f"the state file {legacy} is empty")

        legacy.write_text(json.dumps({"engine": engine}))
        bot.start()
        try:
            bot.wait_for("the resume", lambda: bot.says("resumed portfolio"))
            assert bot.says("imported the state file")
            bot.wait_for("the purchase booked", lambda: bot.state().get("engine", {}).get("status") == "running")
            assert_quiet(bot)
            (row,) = bot.portfolios()
            assert row["seq"] >= 7  # never hands out rb7 again
            state = bot.state()["engine"]
            assert state["holdings"] == pytest.approx(amounts) and 0 < state["cash"] < 20  # booked once, not twice
            assert [r["id"] for r in state["records"]] == ["init1"] and not bot.says("Traceback")
        finally:
            bot.stop()
        assert not legacy.exists() and list(legacy.parent.glob(f"{legacy.name}.imported-*"))


def test_a_restored_database_never_hands_out_an_operation_id_again(tmp_path):
    """Issue 18 item 4 (dry-run): a backup taken after the basket, a rebalance (rb2), the backup put back. The
    rebalance the restored database still needs gets a new id (rb3): rb2's orders are never placed twice."""
    import sqlite3

    def copy(source, target):
        src, dst = sqlite3.connect(source), sqlite3.connect(target)
        src.backup(dst)
        src.close()
        dst.close()

    def rebalanced():
        return any(o["ft_order_side"] == "buy" for o in bot.filled("rb"))

    scenario = {"flat": True, "events": [{"pair": "ETH/USDT", "at": "25s", "change_pct": 20}]}
    with running_replay(clock="replay", scenario=scenario, pairs=PAIRS) as ex:
        bot = DryRun(ex, tmp_path, dict(BASKET))
        backup = tmp_path / "backup.sqlite"
        bot.start()
        try:
            basket_bought(bot)
            copy(bot.db, backup)
            bot.wait_for("the rebalance", rebalanced)
        finally:
            bot.stop()
        first = {o["ft_order_tag"] for o in bot.filled("rb")}
        assert first and all(t.startswith("rb2:") for t in first)
        copy(backup, bot.db)
        assert not bot.filled("rb")  # the database is back before the rebalance
        bot.start()
        try:
            bot.wait_for("the rebalance of the restored database", rebalanced)
        finally:
            bot.stop()
        again = {o["ft_order_tag"] for o in bot.filled("rb")}
        assert again and not again & first, (first, again)
        assert all(t.startswith("rb3:") for t in again), again
