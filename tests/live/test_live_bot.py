"""End-to-end, offline, with money moving: the real ``freqtrade trade`` with ``dry_run: false`` and
SmartPortfolio against the replay exchange's accounts (Binance's signed API). Every check is made
on the exchange's ledger (GET /_smartpf/account), not only on the bot's own records.

Each test runs its own server (free port) and its own bot folder and database, so the tests can run
in parallel (separate pytest processes, or pytest-xdist's ``-n``).
"""

from __future__ import annotations

import time

import pytest

from smartpf.replay.runner import running_replay
from tests.support.livebot import Ledger, LiveBot, finish, prices

pytestmark = pytest.mark.e2e
PAIRS = ["BTC/USDT", "ETH/USDT"]
BASKET = {"assets": {"BTC": 50, "ETH": 50}, "investment": 1000, "threshold": 1}


def weights(bot: LiveBot) -> dict[str, float]:
    """The coins' weights in percent from the exchange's balances (cash left out)."""
    balances = bot.ex.account()["balances"]
    px = prices(bot.ex, ["BTC", "ETH"])
    value = {c: (float(balances[c]["free"]) + float(balances[c]["locked"])) * px[c] for c in px}
    total = sum(value.values())
    return {c: v / total * 100 for c, v in value.items()}


def within_band(bot: LiveBot, band_pp: float) -> bool:
    return all(abs(w - 50) <= band_pp for w in weights(bot).values())


def exchange_orders(bot: LiveBot) -> list[dict]:
    return bot.ex.account()["orders"]


def test_basket_threshold_rebalance_and_take_profit_sell(tmp_path):
    """Fees in the coin received. The basket; ETH +20 % -> a rebalance in two phases (sell ETH, then
    buy BTC with what the sell really produced); take-profit with `sell` empties the account's coins.
    After each operation the bot's holdings equal the exchange's balances within one lot step."""
    scenario = {"flat": True, "events": [{"pair": "ETH/USDT", "at": "40s", "change_pct": 20}]}
    with running_replay(clock="replay", scenario=scenario, pairs=PAIRS, accounts=True, balances={"USDT": 2000},
                        fee_asset="received") as ex:
        bot = LiveBot(ex, tmp_path, dict(BASKET))
        ledger = Ledger("basket_rebalance_take_profit", bot)
        bot.start()
        try:
            bot.wait_for("the initial basket", lambda: len(bot.filled("smartpf-entry")) == 2)
            ledger.check_holdings("the basket")
            buys = [t for t in ex.account()["trades"] if t["isBuyer"]]
            assert {t["commissionAsset"] for t in buys} == {"BTC", "ETH"}  # fee in the coin received
            spent = 2000 - float(ex.account()["balances"]["USDT"]["free"])
            assert 980 <= spent <= 1000

            bot.wait_for("the rebalance buy", lambda: any(o["ft_order_side"] == "buy" for o in bot.filled("rb")),
                         timeout=150)
            ledger.check_holdings("the rebalance")
            rb = [o for o in exchange_orders(bot) if o["orderId"] > 2]
            assert [(o["symbol"], o["side"], o["status"]) for o in rb] == [("ETHUSDT", "SELL", "FILLED"),
                                                                           ("BTCUSDT", "BUY", "FILLED")]
            sell_trade = next(t for t in ex.account()["trades"] if t["orderId"] == rb[0]["orderId"])
            buy_cost = float(rb[1]["cummulativeQuoteQty"])
            proceeds = float(sell_trade["quoteQty"]) - float(sell_trade["commission"])
            idle = 1000 - spent  # the bot's cash left after the basket
            assert buy_cost <= proceeds + idle + 1e-6  # the buy spent the sell's real proceeds, no more
            assert buy_cost >= proceeds * 0.9
            assert within_band(bot, 1.0), weights(bot)

            bot.edit(take_profit=5, on_exit="sell")
            bot.reload()
            bot.wait_for("every coin sold", lambda: not bot.open_trades() and bot.filled("exit"), timeout=60)
            ledger.check_holdings("the take-profit")
            balances = ex.account()["balances"]
            assert all(float(balances[c]["free"]) < ledger.steps[c] for c in ("BTC", "ETH"))  # dust only
            assert float(balances["USDT"]["free"]) > 2000  # the profit is on the exchange
            count = len(exchange_orders(bot))
            time.sleep(12)
            assert len(exchange_orders(bot)) == count and not bot.open_trades()  # nothing re-bought
            assert bot.alive()
        finally:
            finish(bot, ledger, ex)


def test_scheduled_rebalance_then_stop_loss_keep(tmp_path):
    """Scheduled mode rebalances at the interval on the exchange; a market crash hits the stop-loss
    with `keep`: nothing is sold, the coins stay in the account, nothing is traded afterwards."""
    scenario = {"flat": True, "events": [{"pair": "ETH/USDT", "at": "15s", "change_pct": 15},
                                         {"pair": "BTC/USDT", "at": "105s", "change_pct": -30},
                                         {"pair": "ETH/USDT", "at": "105s", "change_pct": -30}]}
    section = {**BASKET, "mode": "scheduled", "interval": "1m", "stop_loss": 10, "on_exit": "keep"}
    with running_replay(clock="replay", scenario=scenario, pairs=PAIRS, accounts=True,
                        balances={"USDT": 2000}) as ex:
        bot = LiveBot(ex, tmp_path, section)
        ledger = Ledger("scheduled_stop_loss_keep", bot)
        bot.start()
        try:
            bot.wait_for("the basket", lambda: len(bot.filled("smartpf-entry")) == 2)
            ledger.check_holdings("the basket")
            basket_done = time.time()
            bot.wait_for("the scheduled rebalance", lambda: any(o["ft_order_side"] == "buy"
                                                                for o in bot.filled("rb")), timeout=100)
            assert 50 <= time.time() - basket_done <= 100  # at the interval, not at the price jump (~+10 s)
            ledger.check_holdings("the scheduled rebalance")
            assert within_band(bot, 1.0), weights(bot)

            bot.wait_for("the stop-loss", lambda: bot.log_has("stop-loss: portfolio profit")
                     and bot.log_has("the coins stay in the account"), timeout=120)
            time.sleep(6)
            count = len(exchange_orders(bot))
            held = bot.holdings()
            time.sleep(12)
            assert len(exchange_orders(bot)) == count  # nothing sold, nothing traded
            assert bot.holdings() == held and len(bot.open_trades()) == 2
            ledger.check_holdings("the stop-loss")
            assert all(o["side"] == "BUY" or o["orderId"] <= 4 for o in exchange_orders(bot))
            assert bot.alive()
        finally:
            finish(bot, ledger, ex)


def test_partial_fills_rebalance_completes_without_resending(tmp_path):
    """With every order filled in 3 trades over two seconds, the basket and a rebalance complete: each
    order is sent once (the exchange has exactly the bot's orders), and the weights land in the band.
    A restart of the bot then trades nothing."""
    scenario = {"flat": True, "events": [{"pair": "ETH/USDT", "at": "40s", "change_pct": 20}]}
    with running_replay(clock="replay", scenario=scenario, pairs=PAIRS, accounts=True, balances={"USDT": 2000},
                        partial_fills=3) as ex:
        bot = LiveBot(ex, tmp_path, dict(BASKET))
        ledger = Ledger("partial_fills", bot)
        bot.start()
        try:
            bot.wait_for("the initial basket", lambda: len(bot.filled("smartpf-entry")) == 2)
            ledger.check_holdings("the basket")
            bot.wait_for("the rebalance buy", lambda: any(o["ft_order_side"] == "buy" for o in bot.filled("rb")),
                         timeout=150)
            ledger.check_holdings("the rebalance")
            account = ex.account()
            orders = account["orders"]
            assert len(orders) == 4 and all(o["status"] == "FILLED" for o in orders)
            for o in orders:  # every order filled in three trades
                assert sum(t["orderId"] == o["orderId"] for t in account["trades"]) == 3
            ours = {o["order_id"]: o for o in bot.orders()}
            assert set(ours) == {str(o["orderId"]) for o in orders}  # no order re-sent
            for o in orders:
                assert ours[str(o["orderId"])]["filled"] == pytest.approx(float(o["executedQty"]))
            assert within_band(bot, 1.0), weights(bot)

            # a restart reads the account and the exchange's orders again; nothing is bought twice
            assert bot.stop() == 130
            before = len(bot.log())
            bot.start()
            bot.wait_for("the restart's first check", lambda: "smartpf: value" in bot.log()[before:], timeout=60)
            time.sleep(10)
            assert len(exchange_orders(bot)) == 4 and len(bot.orders()) == 4
            ledger.check_holdings("the restart")
            assert bot.alive()
        finally:
            finish(bot, ledger, ex)


def test_rejections_are_recorded_not_retried_and_never_unpaid(tmp_path):
    """The exchange tightens ETH's minimum notional: the rebalance's sell is refused with Binance's
    reason, the bot logs it and moves on (no retry within the check, no crash). Then the rule is
    restored and the sell fills, and the operator withdraws the USDT it produced before the buy:
    the bot reads the balance and places no order it cannot pay for."""
    scenario = {"flat": True, "events": [{"pair": "ETH/USDT", "at": "30s", "change_pct": 20}]}
    with running_replay(clock="replay", scenario=scenario, pairs=PAIRS, accounts=True,
                        balances={"USDT": 1500}) as ex:
        bot = LiveBot(ex, tmp_path, dict(BASKET))
        ledger = Ledger("rejections", bot)
        bot.start()
        try:
            bot.wait_for("the initial basket", lambda: len(bot.filled("smartpf-entry")) == 2)
            ledger.check_holdings("the basket")
            ex.set_filters("ETHUSDT", {"NOTIONAL": {"minNotional": "100000"}})
            bot.wait_for("the rejection", lambda: ex.account()["rejections"], timeout=150)
            first = ex.account()["rejections"]
            assert [(r["symbol"], r["side"], r["code"], r["msg"]) for r in first] == [
                ("ETHUSDT", "SELL", -1013, "Filter failure: NOTIONAL")]
            bot.wait_for("the bot's record of it", lambda: bot.log_has('"msg":"Filter failure: NOTIONAL"')
                         and bot.log_has("did not place this order"), timeout=20)
            time.sleep(20)  # the same order is not sent again within the check
            assert len(ex.account()["rejections"]) == 1 and bot.alive()
            ledger.check_holdings("the rejection")

            ex.set_filters("ETHUSDT", {"NOTIONAL": {"minNotional": "5"}})
            sold = bot.wait_for("the next rebalance's sell", lambda: bot.filled("rb"), timeout=90)
            free = float(ex.account()["balances"]["USDT"]["free"])
            ex.withdraw("USDT", free - 1)  # before the buy phase (next loop)
            assert sold[0]["ft_order_side"] == "sell"
            time.sleep(20)
            account = ex.account()
            unpaid = [r for r in account["rejections"] if r["code"] == -2010]
            assert not unpaid, unpaid  # never an order it cannot pay for
            assert all(o["side"] == "SELL" for o in account["orders"][2:]), account["orders"]
            ledger.check_holdings("the withdrawal")
            assert bot.alive()
        finally:
            finish(bot, ledger, ex)
