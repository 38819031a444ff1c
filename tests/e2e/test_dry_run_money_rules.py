"""End-to-end, offline (issue 8): a real `freqtrade trade --dry-run` with SmartPortfolio on the replay exchange.

1. The wick guard: a 30-second ETH wick of -90 % neither triggers the stop-loss nor a rebalance; a crash
   that persists is acted on one check later.
2. The lifecycle: add a coin, remove a coin, lower the investment, change targets, terminate with sell,
   all through Freqtrade's REST API (reload_config), checking holdings, HODL and principal by
   arithmetic at each step. Holdings come from the trade database; the bot's own figures (principal,
   HODL shadow) are read through ``bot_figures`` only, so that moving them elsewhere touches one function.
"""

from __future__ import annotations

import json
import sqlite3
import time

import pytest

from smartpf.replay.runner import before_shutdown, running_replay
from tests.support.dryrun import DryRun

pytestmark = pytest.mark.e2e
FEE = 0.001


def bot_figures(bot: DryRun) -> dict:
    """The bot's own ledger: principal, holdings, cash, HODL shadow, latest details. (One place to repoint.)"""
    state = bot.state()
    engine = state.get("engine") or {}
    return {"invested": engine.get("invested"), "withdrawn": engine.get("withdrawn"),
            "holdings": engine.get("holdings", {}), "cash": engine.get("cash"),
            "hodl": engine.get("hodl", {}), "status": engine.get("status"), "op": engine.get("op"),
            "termination": engine.get("termination"), "details": state.get("details") or {},
            "spec": engine.get("spec", {}), "records": engine.get("records", [])}


def db_holdings(bot: DryRun) -> dict[str, float]:
    """What the trade database says the bot holds: the open trades' amounts."""
    con = sqlite3.connect(bot.workdir / "trades.sqlite")
    try:
        rows = con.execute("SELECT pair, amount FROM trades WHERE is_open = 1").fetchall()
    finally:
        con.close()
    return {pair: float(amount) for pair, amount in rows}


def prices(ex, pairs) -> dict[str, float]:
    out = {}
    for pair in pairs:
        status, body = ex.get("/api/v3/ticker/price", symbol=pair.replace("/", ""))
        assert status == 200
        out[pair] = float(body["price"])
    return out


def edit(bot: DryRun, section: dict) -> None:
    """Edit the portfolio the way a user does: the section, the whitelist and max_open_trades together."""
    config = json.loads(bot.config_path.read_text())
    config["smart_portfolio"].update(section)
    pairs = [f"{c}/USDT" for c in config["smart_portfolio"]["assets"]]
    config["exchange"]["pair_whitelist"] = pairs
    config["max_open_trades"] = len(pairs)
    bot.config_path.write_text(json.dumps(config, indent=2))
    bot.reload()


def settled(bot: DryRun) -> bool:
    f = bot_figures(bot)
    return f["op"] is None and not any(o["status"] == "open" for o in bot.orders())


def test_a_wick_is_not_a_crash(tmp_path):
    scenario = {"flat": True, "events": [
        {"pair": "ETH/USDT", "at": "50s", "change_pct": -90}, {"pair": "ETH/USDT", "at": "80s", "change_pct": 900},
        {"pair": "BTC/USDT", "at": "140s", "change_pct": -60}, {"pair": "ETH/USDT", "at": "140s", "change_pct": -60}]}
    with running_replay(clock="replay", scenario=scenario, pairs=["BTC/USDT", "ETH/USDT"]) as ex:
        t0 = time.time()
        bot = DryRun(ex, tmp_path, {"assets": {"BTC": 50, "ETH": 50}, "investment": 1000, "threshold": 1,
                                    "stop_loss": 20, "on_exit": "sell"})
        bot.start()
        try:
            bot.wait_for("the initial basket", lambda: len(bot.filled("smartpf-entry")) == 2, timeout=45)
            assert time.time() < t0 + 48, "the basket must be bought before the wick"
            entry = {o["ft_pair"]: o["average"] for o in bot.filled("smartpf-entry")}
            # the wick: ETH -90 % from 50 s to 80 s (the portfolio at -45 %): hold, no stop-loss, no rebalance
            bot.wait_for("the guard's reason", lambda: "price guard" in bot.log(), timeout=70)
            time.sleep(max(0.0, t0 + 130 - time.time()))
            assert bot_figures(bot)["status"] == "running"
            assert [o["ft_order_tag"].split("@")[0] for o in bot.orders()] == ["smartpf-entry", "smartpf-entry"]
            # the crash from 140 s persists: confirmed a check later, the stop-loss sells everything
            bot.wait_for("the stop-loss", lambda: bot_figures(bot)["status"] == "terminated", timeout=150)
            info = bot_figures(bot)["termination"]
            assert info["trigger"] == "stop_loss" and info["how"] == "sell"
            assert info["requested_at"] >= t0 + 140 + 55  # one check after the crash was first seen
            bot.wait_for("every coin sold", lambda: bot.open_trades() == 0)
            exits = bot.filled("exit")
            assert {o["ft_pair"] for o in exits} == {"BTC/USDT", "ETH/USDT"}
            for o in exits:  # sold at the crashed price, which is real; never at the wick's
                assert o["average"] == pytest.approx(entry[o["ft_pair"]] * 0.4, rel=0.01)
        finally:
            rc = bot.stop()
        assert rc == 130
        assert "Traceback" not in before_shutdown(bot.log())


def check_ledgers(bot: DryRun, ex, step: str, invested: float) -> dict:
    """Holdings (database = bot), principal and HODL by arithmetic; returns the figures."""
    f = bot_figures(bot)
    db = db_holdings(bot)
    held = {p: q for p, q in f["holdings"].items() if q > 0}
    assert set(held) == set(db), (step, held, db)
    for pair, amount in db.items():
        assert held[pair] == pytest.approx(amount, rel=1e-9), (step, pair)
    assert f["invested"] == pytest.approx(invested, abs=1e-6), step
    hodl = f["hodl"]
    px = prices(ex, set(held) | set(hodl["holdings"]))
    value = f["cash"] + sum(q * px[p] for p, q in held.items())
    hodl_value = hodl["cash"] + sum(q * px[p] for p, q in hodl["holdings"].items())
    details = f["details"]
    assert details["value"] == pytest.approx(value, rel=1e-6), step
    assert details["hodl_value"] == pytest.approx(hodl_value, rel=1e-6), step
    assert details["invested"] == pytest.approx(invested, abs=1e-6), step
    return {**f, "value": value, "hodl_value": hodl_value, "prices": px}


def weights(f: dict) -> dict[str, float]:
    px, held = f["prices"], f["holdings"]
    return {p: q * px[p] / f["value"] * 100 for p, q in held.items() if q > 0}


def test_add_remove_lower_retarget_terminate(tmp_path):
    pairs = ["BTC/USDT", "ETH/USDT", "SOL/USDT"]
    with running_replay(clock="replay", scenario={"flat": True, "events": []}, pairs=pairs) as ex:
        bot = DryRun(ex, tmp_path, {"assets": {"BTC": 50, "ETH": 50}, "investment": 1000, "threshold": 1})
        bot.start()
        try:
            bot.wait_for("the initial basket", lambda: len(bot.filled("smartpf-entry")) == 2 and settled(bot))
            bot.wait_for("the details", lambda: bot_figures(bot)["details"].get("hodl_value"), timeout=20)
            f = check_ledgers(bot, ex, "start", 1000)
            spent = sum(o["filled"] * o["average"] * (1 + FEE) for o in bot.filled("smartpf-entry"))
            assert f["value"] == pytest.approx(1000 - spent * FEE / (1 + FEE), abs=0.01)
            assert f["hodl_value"] == pytest.approx(f["value"], abs=1e-6)  # the HODL is the same basket
            hodl0 = dict(f["hodl"]["holdings"])

            # 1. add SOL: sell BTC and ETH down to 35 %, buy SOL with the proceeds; the principal is unchanged
            edit(bot, {"assets": {"BTC": 35, "ETH": 35, "SOL": 30}})
            bot.wait_for("SOL bought", lambda: "SOL/USDT" in db_holdings(bot) and settled(bot), timeout=120)
            f = check_ledgers(bot, ex, "add SOL", 1000)
            w = weights(f)
            assert w["SOL/USDT"] == pytest.approx(30, abs=1) and w["BTC/USDT"] == pytest.approx(35, abs=1)
            assert f["hodl"]["holdings"] == hodl0  # the HODL shadow never rebalances

            # 2. remove ETH: sold whole; the HODL shadow still holds ETH and it is priced, not valued at 0
            edit(bot, {"assets": {"BTC": 50, "SOL": 50}})
            bot.wait_for("ETH sold", lambda: "ETH/USDT" not in db_holdings(bot) and settled(bot), timeout=120)
            bot.wait_for("details after the removal",
                         lambda: "ETH/USDT" not in {c["pair"] for c in bot_figures(bot)["details"]["coins"]},
                         timeout=20)
            f = check_ledgers(bot, ex, "remove ETH", 1000)
            assert f["hodl"]["holdings"]["ETH/USDT"] == hodl0["ETH/USDT"]
            assert f["hodl_value"] == pytest.approx(1000 - spent * FEE / (1 + FEE), abs=0.01)
            value_before, idle_before = f["value"], f["cash"]

            # 3. lower the investment by 300: the principal falls by exactly what was withdrawn
            edit(bot, {"investment": 700, "generation": 1})  # a withdrawal is asked with a newer generation
            bot.wait_for("the withdrawal", lambda: bot_figures(bot)["invested"] == pytest.approx(700) and settled(bot)
                         and bot.filled("wd"), timeout=60)
            time.sleep(6)
            f = check_ledgers(bot, ex, "lower to 700", 700)
            sold = sum(o["filled"] * o["average"] for o in bot.filled("wd"))
            # idle cash first, then sells rounded up to the step: they raise at least the rest
            assert idle_before + sold * (1 - FEE) >= 300 - 1e-6
            assert f["withdrawn"] == pytest.approx(300)
            # sold at the bid, valued at the last price: the spread is a cost like the fee
            spread = sum((f["prices"][o["ft_pair"]] - o["average"]) * o["filled"] for o in bot.filled("wd"))
            assert f["value"] == pytest.approx(value_before - 300 - sold * FEE - spread, abs=1e-6)
            assert "could not withdraw" not in bot.log()
            # the HODL shadow gave up the same 300 (its coins pro rata, net of the sell fee), ETH included
            assert f["hodl"]["holdings"]["ETH/USDT"] < hodl0["ETH/USDT"]
            hodl_gross = 1000 - spent * FEE / (1 + FEE)
            assert f["hodl_value"] == pytest.approx(hodl_gross - 300 / (1 - FEE), abs=0.05)

            # 4. new targets: 70 / 30
            def retargets() -> int:
                return sum(r["trigger"] == "targets_changed" and r["status"] == "done"
                           for r in bot_figures(bot)["records"])

            before = retargets()
            edit(bot, {"assets": {"BTC": 70, "SOL": 30}})
            bot.wait_for("the new weights", lambda: settled(bot) and retargets() == before + 1, timeout=120)
            time.sleep(6)
            f = check_ledgers(bot, ex, "retarget", 700)
            w = weights(f)
            assert w["BTC/USDT"] == pytest.approx(70, abs=1) and w["SOL/USDT"] == pytest.approx(30, abs=1)

            # 5. terminate with sell: every coin sold, nothing held, the principal stays 700
            value_before, f_prices = f["value"], f["prices"]
            edit(bot, {"terminate": "sell"})
            bot.wait_for("every coin sold", lambda: bot.open_trades() == 0 and bot_figures(bot)["status"] ==
                         "terminated", timeout=60)
            f = bot_figures(bot)
            assert f["invested"] == pytest.approx(700) and not any(q > 0 for q in f["holdings"].values())
            sold = sum(o["filled"] * o["average"] for o in bot.filled("exit"))
            spread = sum((f_prices[o["ft_pair"]] - o["average"]) * o["filled"] for o in bot.filled("exit"))
            assert f["cash"] == pytest.approx(value_before - sold * FEE - spread, abs=1e-6)
            count = len(bot.orders())
            time.sleep(10)
            assert len(bot.orders()) == count and bot.alive()
        finally:
            rc = bot.stop()
        assert rc == 130
        assert "Traceback" not in before_shutdown(bot.log())
