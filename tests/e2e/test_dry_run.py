"""End-to-end, offline: `freqtrade trade --dry-run` with SmartPortfolio against the replay exchange.

Each test is one real dry-run that checks several behaviours in turn, to keep the suite short.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from smartpf.replay.runner import before_shutdown, running_replay
from tests.support.dryrun import DryRun

pytestmark = pytest.mark.e2e
BASKET = {"assets": {"BTC": 50, "ETH": 50}, "investment": 1000, "threshold": 1}


def weights_within(state: dict, band_pp: float) -> bool:
    details = state.get("details") or {}
    coins = details.get("coins") or []
    return bool(coins) and all(abs(c["actual_pct"] - c["target_pct"]) <= band_pp for c in coins)


def test_basket_rebalance_reloads_and_take_profit(tmp_path):
    """Buys the basket; rebalances when ETH jumps; a reload with a higher investment buys the difference;
    an invalid reload keeps the old settings; take-profit with `sell` sells everything, nothing re-bought."""
    scenario = {"flat": True, "events": [{"pair": "ETH/USDT", "at": "50s", "change_pct": 20}]}
    with running_replay(clock="replay", scenario=scenario, pairs=["BTC/USDT", "ETH/USDT"]) as ex:
        bot = DryRun(ex, tmp_path, dict(BASKET))
        bot.start()
        try:
            entries = bot.wait_for("the initial basket",
                                   lambda: len(bot.filled("smartpf-entry")) == 2 and bot.filled("smartpf-entry"))
            assert {o["ft_pair"] for o in entries} == {"BTC/USDT", "ETH/USDT"}
            # ETH +20 % -> ETH over target: sell ETH first, then buy BTC with the proceeds
            bot.wait_for("the rebalance buy", lambda: bot.filled("rb") and any(
                o["ft_order_side"] == "buy" for o in bot.filled("rb")))
            rb = bot.filled("rb")
            assert [(o["ft_pair"], o["ft_order_side"]) for o in rb] == [("ETH/USDT", "sell"), ("BTC/USDT", "buy")]
            bot.wait_for("weights back at target", lambda: weights_within(bot.state(), 1.0), timeout=30)

            bot.edit(investment=1500)
            bot.reload()
            deposits = bot.wait_for("the added investment", lambda: len(bot.filled("dep")) == 2 and bot.filled("dep"))
            assert all(o["ft_order_side"] == "buy" for o in deposits)
            spent = sum(o["filled"] * o["average"] for o in deposits)
            assert 480 <= spent <= 500
            assert bot.state()["engine"]["invested"] == 1500

            bot.edit(threshold=0)
            bot.reload()
            bot.wait_for("the rejection", lambda: "invalid settings change rejected" in bot.log())
            assert "smart_portfolio.threshold = 0" in bot.log()
            time.sleep(6)
            assert bot.alive() and bot.state()["engine"]["spec"]["threshold"] == 1.0

            # profit is about +6.6 % now (ETH +20 % on the first 1000): take-profit at 5 % with `sell`
            bot.edit(threshold=1, take_profit=5, on_exit="sell")
            bot.reload()
            bot.wait_for("every coin sold", lambda: bot.open_trades() == 0 and bot.filled("exit"))
            bot.wait_for("the termination", lambda: bot.state()["engine"]["status"] == "terminated", timeout=20)
            assert bot.state()["engine"]["termination"]["trigger"] == "take_profit"
            count = len(bot.orders())
            time.sleep(12)
            assert len(bot.orders()) == count and bot.open_trades() == 0  # nothing re-bought
            assert bot.alive()
        finally:
            rc = bot.stop()
        assert rc == 130
        assert "Traceback" not in before_shutdown(bot.log())


def test_kill_9_in_the_middle_of_a_rebalance_then_stop_loss_keep(tmp_path):
    """SIGKILL after the sells filled and before the buys: the restart books the sell from the trade
    database, never repeats it, buys, and converges. Later a crash of the market hits the stop-loss
    with `keep`: nothing is sold and nothing traded afterwards."""
    scenario = {"flat": True, "events": [{"pair": "ETH/USDT", "at": "30s", "change_pct": 20},
                                         {"pair": "BTC/USDT", "at": "170s", "change_pct": -30},
                                         {"pair": "ETH/USDT", "at": "170s", "change_pct": -30}]}
    with running_replay(clock="replay", scenario=scenario, pairs=["BTC/USDT", "ETH/USDT"]) as ex:
        bot = DryRun(ex, tmp_path, {**BASKET, "stop_loss": 10, "on_exit": "keep"}, strategy="CrashingSmartPortfolio",
                     strategy_path=str(Path(__file__).resolve().parents[1] / "support" / "strategies"))
        bot.start(env={"SMARTPF_CRASH_POINT": "after_sells"})
        bot.wait_for("exit", lambda: not bot.alive(), timeout=150)
        assert bot.proc.returncode == -9, bot.log()[-3000:]
        assert [(o["ft_pair"], o["ft_order_side"]) for o in bot.filled("rb")] == [("ETH/USDT", "sell")]
        assert bot.state()["engine"]["op"]["phase"] == "sell"  # the state file missed the fill
        bot.start()
        try:
            bot.wait_for("the rebalance buy after the restart",
                         lambda: any(o["ft_order_side"] == "buy" for o in bot.filled("rb")), timeout=60)
            assert "booked fill" in bot.log()
            tags = [o["ft_order_tag"] for o in bot.orders()]
            rebalance_tags = [t for t in tags if not t.startswith("smartpf-entry")]
            assert len(rebalance_tags) == len(set(rebalance_tags)), tags  # no order placed twice
            assert sum(t.startswith("smartpf-entry") for t in tags) == 2  # nor the basket bought twice
            assert [(o["ft_pair"], o["ft_order_side"]) for o in bot.filled("rb")] == [
                ("ETH/USDT", "sell"), ("BTC/USDT", "buy")]
            # the sell's exit reason is its stable kind; its tag, by which the restart booked it, is unchanged
            assert {t["pair"]: t["exit_reason"] for t in bot.sql("SELECT pair, exit_reason FROM trades")} == {
                "BTC/USDT": None, "ETH/USDT": "smartpf_rebalance"}
            bot.wait_for("weights back at target", lambda: weights_within(bot.state(), 1.0), timeout=30)

            # timeout: the -30 % crash is a jump the price guard confirms one check (60 s) later
            bot.wait_for("the stop-loss", lambda: bot.state()["engine"]["status"] == "terminated", timeout=240)
            info = bot.state()["engine"]["termination"]
            assert info["trigger"] == "stop_loss" and info["how"] == "keep"
            count = len(bot.orders())
            time.sleep(12)
            assert len(bot.orders()) == count and bot.open_trades() == 2  # kept, nothing traded
        finally:
            rc = bot.stop()
        assert rc == 130


def test_scheduled_rebalance_outage_and_frozen_prices(tmp_path):
    """Scheduled mode rebalances at the interval; an exchange outage and then frozen prices stop all
    trading, with the reason reported; trading resumes afterwards."""
    scenario = {"flat": True, "events": [{"pair": "ETH/USDT", "at": "20s", "change_pct": 15},
                                         {"pair": "ETH/USDT", "at": "150s", "change_pct": 15}]}
    section = {**BASKET, "mode": "scheduled", "interval": "2m"}
    with running_replay(clock="replay", scenario=scenario, pairs=["BTC/USDT", "ETH/USDT"]) as ex:
        bot = DryRun(ex, tmp_path, section)
        bot.start()
        try:
            bot.wait_for("the basket", lambda: len(bot.filled("smartpf-entry")) == 2)
            started = bot.state()["engine"]["started_at"]
            bot.wait_for("the scheduled rebalance", lambda: any(o["ft_order_side"] == "buy" for o in bot.filled("rb")),
                         timeout=160)
            record = next(r for r in bot.state()["engine"]["records"] if r["kind"] == "rebalance")
            assert record["trigger"] == "schedule"
            assert 120 <= record["started_at"] - started < 130
            # the next schedule (started + 240 s) falls inside an outage: no trade while it lasts
            time.sleep(max(0.0, started + 225 - time.time()))
            ex.set_faults(outage=True)
            count = len(bot.orders())
            bot.wait_for("the outage reason", lambda: (bot.state().get("reason") or {}).get("code") == "missing_price",
                         timeout=40)
            time.sleep(max(0.0, started + 255 - time.time()))
            assert len(bot.orders()) == count
            ex.set_faults(outage=False)
            bot.wait_for("trading resumed", lambda: len(bot.filled("rb")) >= 4, timeout=60)
            assert [r["trigger"] for r in bot.state()["engine"]["records"] if r["kind"] == "rebalance"] == [
                "schedule", "schedule"]  # the missed boundary is one check, not a burst
            # frozen prices: once the last price is older than twice check_interval, no trading
            ex.set_faults(frozen=True)
            count = len(bot.orders())
            bot.wait_for("the stale-price reason", lambda: (bot.state().get("reason") or {}).get("code") ==
                         "stale_price", timeout=200)
            assert len(bot.orders()) == count
            ex.set_faults(frozen=False)
            bot.wait_for("fresh prices again", lambda: (bot.state().get("reason") or {}).get("code") in (
                "not_scheduled", "orders_too_small", "balanced", "rebalance_in_progress"), timeout=60)
            assert bot.alive()
        finally:
            rc = bot.stop()
        assert rc == 130
        assert "no valid price for" in bot.log() and "stale price for" in bot.log()
