"""The live path on OKX's and XT's signed APIs (the replay exchange's ``--protocol okx|xt --accounts``): the
real ``freqtrade trade`` with ``dry_run: false``, user_data/config.replay-live-okx.json / -xt.json, the
same checks as the Binance live tests (test_live_bot.py, test_live_faults.py), made on the exchange's
ledger: the basket, the rebalance, every answer lost and the fills adopted, a kill of the bot mid-rebalance,
and ``smartpf reconcile`` agreeing afterwards; no order twice.

Two scenarios per exchange (the cheapest that cover the five), each with its own server and bot, so they
run in parallel (pytest-xdist). XT has no ETH/USDT market: its basket is BTC and SOL.
"""

from __future__ import annotations

import pytest

from smartpf.replay.runner import running_replay
from tests.support.exchanges import DATA
from tests.support.livebot import Ledger, LiveBot, finish, prices

from .test_live_faults import rebalanced, reconcile

pytestmark = pytest.mark.e2e
SECOND = {"okx": "ETH", "xt": "SOL"}  # the basket's second coin (the one whose price jumps)


def setup(protocol: str) -> tuple[dict, dict, list[str]]:
    coin = SECOND[protocol]
    pairs = ["BTC/USDT", f"{coin}/USDT"]
    scenario = {"flat": True, "events": [{"pair": f"{coin}/USDT", "at": "40s", "change_pct": 20}]}
    basket = {"assets": {"BTC": 50, coin: 50}, "investment": 1000, "threshold": 1}
    return scenario, basket, pairs


def replay(protocol: str, scenario: dict, pairs: list[str], **faults: object):  # noqa: ANN201
    return running_replay(protocol=protocol, markets=DATA / f"{protocol}.json", clock="replay", scenario=scenario,
                          pairs=pairs, accounts=True, balances={"USDT": 2000}, **faults)


def weights(bot: LiveBot, coins: list[str]) -> dict[str, float]:
    balances = bot.ex.account()["balances"]
    px = prices(bot.ex, coins)
    value = {c: (float(balances[c]["free"]) + float(balances[c]["locked"])) * px[c] for c in coins}
    total = sum(value.values())
    return {c: v / total * 100 for c, v in value.items()}


def check_ledger(bot: LiveBot, ledger: Ledger, what: str, coins: list[str]) -> None:
    """No order twice; holdings agree within a step; no coin above target + band by more than one order.

    Freqtrade books the fee of a trade's second and later buys on its next loop (its
    ``update_trades_without_assigned_fees``), not with the fill: the holdings are compared once it has."""
    bot.wait_for(f"the fees booked after {what}", lambda: bot.settled() and all(
        gap <= ledger.steps[c] * (1 + 1e-9) for c, gap in bot.holdings_gap().items()), timeout=60)
    ledger.check_holdings(what)
    assert ledger.duplicates() == [], ledger.duplicates()
    account = bot.ex.account()
    value = sum(float(o["cummulativeQuoteQty"]) for o in account["orders"] if o["side"] == "BUY")
    largest = max((float(o["cummulativeQuoteQty"]) for o in account["orders"]), default=0.0)
    limit = 50 + 1 + largest / max(value, 1.0) * 100
    assert all(w <= limit for w in weights(bot, coins).values()), (weights(bot, coins), limit)


def agree(bot: LiveBot) -> bool:
    return reconcile(bot).returncode == 0


@pytest.mark.parametrize("protocol", ["okx", "xt"])
def test_lost_answers_adopted_basket_and_rebalance(tmp_path, protocol):
    """Every order's answer is lost: the basket and the rebalance are found on the exchange and adopted,
    nothing is placed twice, and the exchange, the trade database and the portfolio agree."""
    scenario, basket, pairs = setup(protocol)
    coin = SECOND[protocol]
    with replay(protocol, scenario, pairs, lost_response_rate=1.0) as ex:
        bot = LiveBot(ex, tmp_path, basket)
        ledger = Ledger(f"lost_answers_{protocol}", bot)
        bot.start()
        try:
            bot.wait_for("the basket, adopted", lambda: len(bot.open_trades()) == 2 and not bot.open_orders(),
                         timeout=150)
            check_ledger(bot, ledger, "the basket", ["BTC", coin])
            bot.wait_for("the rebalance, adopted", lambda: rebalanced(bot), timeout=180)
            check_ledger(bot, ledger, "the rebalance", ["BTC", coin])
            assert [(o["symbol"], o["side"]) for o in ex.account()["orders"][2:]] == [(f"{coin}USDT", "SELL"),
                                                                                     ("BTCUSDT", "BUY")]
            assert all(abs(w - 50) <= 1.0 for w in weights(bot, ["BTC", coin]).values())
            assert ex.state()["faults"]["responses_lost"] == 4
            assert bot.log_has("filled on the exchange without an answer: adopted")
            bot.wait_for("reconcile agreeing", lambda: agree(bot), timeout=60)
        finally:
            finish(bot, ledger, ex)


@pytest.mark.parametrize("protocol", ["okx", "xt"])
def test_kill_mid_rebalance_fill_adopted_and_reconcile_agrees(tmp_path, protocol):
    """The basket; kill -9 of the bot while the exchange has filled the rebalance's first order and its
    answer is on the way: the restarted bot adopts the fill, finishes the rebalance once, and
    ``smartpf reconcile`` finds the three records agreeing (exit 0)."""
    scenario, basket, pairs = setup(protocol)
    coin = SECOND[protocol]
    with replay(protocol, scenario, pairs) as ex:
        bot = LiveBot(ex, tmp_path, basket)
        ledger = Ledger(f"kill_bot_{protocol}", bot)
        bot.start()
        try:
            bot.wait_for("the basket", lambda: len(bot.filled("smartpf-entry")) == 2)
            check_ledger(bot, ledger, "the basket", ["BTC", coin])
            buys = [t for t in ex.account()["trades"] if t["isBuyer"]]
            assert {t["commissionAsset"] for t in buys} == {"BTC", coin}  # buys pay their fee in the coin
            ex.set_faults(answer_delay_ms=8000)
            bot.wait_for("the rebalance's first order on the exchange", lambda: len(ex.account()["orders"]) > 2,
                         timeout=150)
            bot.kill()
            ex.set_faults(answer_delay_ms=0)
            assert len(bot.orders()) == 2  # the database never heard of it
            bot.start()
            bot.wait_for("the rebalance", lambda: rebalanced(bot), timeout=180)
            check_ledger(bot, ledger, "the restart", ["BTC", coin])
            assert bot.log_has("adopted into the trade database")
            assert all(abs(w - 50) <= 1.0 for w in weights(bot, ["BTC", coin]).values())
            bot.wait_for("reconcile agreeing", lambda: agree(bot), timeout=60)
            assert "agree" in reconcile(bot).stdout
        finally:
            finish(bot, ledger, ex)
