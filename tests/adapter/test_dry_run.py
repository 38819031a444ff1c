"""End-to-end, offline: `freqtrade trade --dry-run` with SmartPortfolio against the replay exchange.

Each test is one real dry-run that checks several behaviours in turn, to keep the suite short.
"""

from __future__ import annotations

import time

import pytest

from smartpf.replay.testing import running_replay

from .dryrun import DryRun

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
        assert "Traceback" not in bot.log()
