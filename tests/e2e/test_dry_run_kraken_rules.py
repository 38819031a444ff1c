"""End to end, offline, on another exchange's rules: kraken's markets (no cost minimum, XRP minimum 10
XRP, ETH 0.01, amount step 1e-08) served by the replay exchange, a real `freqtrade trade --dry-run`
buys a BTC 40 / ETH 30 / XRP 30 basket (pairs with 1m candles) and rebalances; every filled order in
Freqtrade's trade database passes ccxt's kraken class unchanged and clears kraken's stated limits."""

from __future__ import annotations

import pytest

from smartpf.replay.runner import before_shutdown, running_replay
from tests.support.dryrun import DryRun
from tests.support.exchanges import DATA, problems

pytestmark = pytest.mark.e2e
BASKET = {"assets": {"BTC": 40, "ETH": 30, "XRP": 30}, "investment": 1000, "threshold": 1}


def test_dry_run_on_krakens_rules(tmp_path):
    scenario = {"flat": True, "events": [{"pair": "XRP/USDT", "at": "50s", "change_pct": 20}]}
    with running_replay(clock="replay", scenario=scenario, pairs=["BTC/USDT", "ETH/USDT", "XRP/USDT"],
                        markets=DATA / "kraken.json") as ex:
        bot = DryRun(ex, tmp_path, dict(BASKET))
        bot.start()
        try:
            entries = bot.wait_for("the initial basket",
                                   lambda: len(bot.filled("smartpf-entry")) == 3 and bot.filled("smartpf-entry"))
            assert {o["ft_pair"] for o in entries} == {"BTC/USDT", "ETH/USDT", "XRP/USDT"}
            xrp = next(o["amount"] for o in entries if o["ft_pair"] == "XRP/USDT")
            assert xrp != int(xrp)  # kraken's step 1e-08 is in force, not Binance's whole XRP
            bot.wait_for("the rebalance buy", lambda: any(o["ft_order_side"] == "buy" for o in bot.filled("rb")))
            rebalance = bot.filled("rb")
            assert rebalance[0]["ft_pair"] == "XRP/USDT" and rebalance[0]["ft_order_side"] == "sell"
            for order in bot.filled():
                assert order["filled"] == order["amount"]
                assert problems("kraken", order["ft_pair"], order["ft_order_side"], order["amount"],
                                order["average"]) == [], order
        finally:
            rc = bot.stop()
        assert rc == 130
        assert "Traceback" not in before_shutdown(bot.log())
