"""End to end, offline, on OKX's and XT's own APIs: the replay exchange speaks the protocol
(``--protocol okx|xt``) with that exchange's markets (tests/data/ccxt-markets), and a real
``freqtrade trade --dry-run`` with SmartPortfolio, configured from user_data/config.replay-<protocol>.json,
buys a three-coin basket and rebalances when a scenario moves one coin 20 %. The trade database is
the evidence; every filled order passes ccxt's class of that exchange and clears its stated limits,
and the server saw only paths it knows (no loud 404)."""

from __future__ import annotations

import pytest

from smartpf.replay.runner import before_shutdown, running_replay
from tests.support.dryrun import DryRun
from tests.support.exchanges import DATA, problems

pytestmark = pytest.mark.e2e
# Coins with 1m candles in the shared data and a spot market in the exchange's fixture.
BASKETS = {"okx": ("BTC", "ETH", "XRP"), "xt": ("BTC", "SOL", "XRP")}


@pytest.mark.parametrize("protocol", ["okx", "xt"])
def test_dry_run_buys_the_basket_and_rebalances(protocol, tmp_path):
    coins = BASKETS[protocol]
    pairs = [f"{c}/USDT" for c in coins]
    moved = "XRP/USDT"
    scenario = {"flat": True, "events": [{"pair": moved, "at": "50s", "change_pct": 20}]}
    section = {"assets": dict(zip(coins, (40, 30, 30), strict=True)), "investment": 1000, "threshold": 1}
    with running_replay(clock="replay", scenario=scenario, pairs=pairs, markets=DATA / f"{protocol}.json",
                        protocol=protocol, timeframes=["1m"]) as ex:
        bot = DryRun(ex, tmp_path, section)
        assert bot.config_path.read_text().count(f'"name": "{protocol}"') == 1
        bot.start()
        try:
            entries = bot.wait_for("the initial basket",
                                   lambda: len(bot.filled("smartpf-entry")) == 3 and bot.filled("smartpf-entry"))
            assert {o["ft_pair"] for o in entries} == set(pairs)
            bot.wait_for("the rebalance buy", lambda: any(o["ft_order_side"] == "buy" for o in bot.filled("rb")))
            rebalance = bot.filled("rb")
            assert rebalance[0]["ft_pair"] == moved and rebalance[0]["ft_order_side"] == "sell"
            for order in bot.filled():
                assert order["filled"] == order["amount"]
                assert problems(protocol, order["ft_pair"], order["ft_order_side"], order["amount"],
                                order["average"]) == [], order
        finally:
            rc = bot.stop()
        assert rc == 130
        assert "Traceback" not in before_shutdown(bot.log())
        assert ex.state()["unknown_paths"] == {}, ex.log_text()[-2000:]
