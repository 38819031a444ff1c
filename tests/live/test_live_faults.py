"""Live faults, survived: the real ``freqtrade trade`` (dry_run false) with SmartPortfolio against the
replay exchange while it loses order answers, refuses orders (5xx, 429 with Retry-After, -1021),
expires an order after a partial fill, and while the bot or the exchange is killed with -9. Every
check is on the exchange's ledger: no order twice, the bot's holdings equal the exchange's within one
lot step once nothing is open, and no coin ends above its target plus the band by more than one order.

Each test runs its own server (free port) and bot folder, so they run in parallel (pytest-xdist).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from smartpf.replay.runner import before_shutdown, running_replay
from tests.live.test_live_bot import BASKET, PAIRS, exchange_orders, weights, within_band
from tests.support.livebot import Ledger, LiveBot, finish, free_port
from tests.unit.test_replay_binance_accounts import client

pytestmark = pytest.mark.e2e
JUMP = {"flat": True, "events": [{"pair": "ETH/USDT", "at": "40s", "change_pct": 20}]}


def rebalanced(bot: LiveBot) -> bool:
    return any(o["ft_order_side"] == "buy" and (o["filled"] or 0) > 0 for o in bot.filled("rb"))


def check_ledger(bot: LiveBot, ledger: Ledger, what: str) -> None:
    """No order twice; holdings agree within a step; no coin above target + band by more than an order."""
    ledger.check_holdings(what)
    assert ledger.duplicates() == [], ledger.duplicates()
    account = bot.ex.account()
    value = sum(float(o["cummulativeQuoteQty"]) for o in account["orders"] if o["side"] == "BUY")
    largest = max((float(o["cummulativeQuoteQty"]) for o in account["orders"]), default=0.0)
    limit = 50 + BASKET["threshold"] + largest / max(value, 1.0) * 100
    assert all(w <= limit for w in weights(bot).values()), (weights(bot), limit)


def test_lost_answers_are_adopted_never_sent_again(tmp_path):
    """Every order's answer is lost (the exchange filled it, the connection closed without a word): the
    bot finds each fill on the exchange, adopts it (the initial buys into new trades, the rebalance's
    sell and buy into theirs) and places nothing twice."""
    with running_replay(clock="replay", scenario=JUMP, pairs=PAIRS, accounts=True, balances={"USDT": 2000},
                        lost_response_rate=1.0) as ex:
        bot = LiveBot(ex, tmp_path, dict(BASKET))
        ledger = Ledger("lost_answers", bot)
        bot.start()
        try:
            bot.wait_for("the basket, adopted", lambda: len(bot.open_trades()) == 2 and not bot.open_orders(),
                         timeout=150)
            check_ledger(bot, ledger, "the basket")
            bot.wait_for("the rebalance, adopted", lambda: rebalanced(bot), timeout=180)
            check_ledger(bot, ledger, "the rebalance")
            assert [(o["symbol"], o["side"]) for o in exchange_orders(bot)[2:]] == [("ETHUSDT", "SELL"),
                                                                                   ("BTCUSDT", "BUY")]
            assert within_band(bot, 1.0), weights(bot)
            assert ex.state()["faults"]["responses_lost"] == 4
            assert bot.log_has("filled on the exchange without an answer: adopted")
        finally:
            finish(bot, ledger, ex)


@pytest.mark.parametrize("kind", ["5xx", "429", "-1021"])
def test_refused_orders_are_not_booked_and_the_next_check_converges(tmp_path, kind):
    """The rebalance's first order is refused before the exchange acts (5xx, 429 with Retry-After, or
    -1021): nothing is booked, the operation moves on, and the next check rebalances, once."""
    with running_replay(clock="replay", scenario=JUMP, pairs=PAIRS, accounts=True, balances={"USDT": 2000},
                        order_errors=[kind]) as ex:
        bot = LiveBot(ex, tmp_path, dict(BASKET))
        ledger = Ledger(f"refused_{kind}", bot)
        bot.start()
        try:
            bot.wait_for("the basket", lambda: len(bot.filled("smartpf-entry")) == 2)
            check_ledger(bot, ledger, "the basket")
            ex.set_faults(order_error_rate=1.0)
            bot.wait_for("a refused order", lambda: ex.state()["faults"]["order_errors_injected"] > 0, timeout=120)
            ex.set_faults(order_error_rate=0.0)
            assert len(exchange_orders(bot)) == 2  # the exchange did not act
            bot.wait_for("the rebalance", lambda: rebalanced(bot), timeout=150)
            check_ledger(bot, ledger, "the rebalance")
            assert within_band(bot, 1.0), weights(bot)
            assert bot.alive()
        finally:
            finish(bot, ledger, ex)


def test_order_expired_after_a_partial_fill_is_booked_as_filled_in_part(tmp_path):
    """The rebalance's sell fills about half, the rest expires: the bot books the half it got, and the
    next check finishes the job; nothing is sold twice beyond what the exchange really did."""
    with running_replay(clock="replay", scenario=JUMP, pairs=PAIRS, accounts=True, balances={"USDT": 2000}) as ex:
        bot = LiveBot(ex, tmp_path, dict(BASKET))
        ledger = Ledger("expired_after_partial", bot)
        bot.start()
        try:
            bot.wait_for("the basket", lambda: len(bot.filled("smartpf-entry")) == 2)
            check_ledger(bot, ledger, "the basket")
            ex.set_faults(expire_after_partial=True)
            bot.wait_for("an expired order", lambda: any(o["status"] == "EXPIRED" for o in exchange_orders(bot)),
                         timeout=150)
            ex.set_faults(expire_after_partial=False)
            expired = next(o for o in exchange_orders(bot) if o["status"] == "EXPIRED")
            assert 0 < float(expired["executedQty"]) < float(expired["origQty"])
            mine = next(o for o in bot.orders() if o["order_id"] == str(expired["orderId"]))
            bot.wait_for("the bot's record", lambda: next(o for o in bot.orders()
                                                          if o["order_id"] == str(expired["orderId"]))["status"]
                         != "open", timeout=30)
            assert mine["ft_order_side"] == expired["side"].lower()
            bot.wait_for("in the band again", lambda: bot.settled() and within_band(bot, 1.0), timeout=180)
            check_ledger(bot, ledger, "the expiry")
        finally:
            finish(bot, ledger, ex)


def test_kill_the_bot_between_the_fill_and_its_answer(tmp_path):
    """kill -9 of the bot mid-rebalance, while the exchange has filled the order and its answer is on the
    way: after the restart the fill is adopted from the exchange, not placed again."""
    with running_replay(clock="replay", scenario=JUMP, pairs=PAIRS, accounts=True, balances={"USDT": 2000}) as ex:
        bot = LiveBot(ex, tmp_path, dict(BASKET))
        ledger = Ledger("kill_bot", bot)
        bot.start()
        try:
            bot.wait_for("the basket", lambda: len(bot.filled("smartpf-entry")) == 2)
            check_ledger(bot, ledger, "the basket")
            ex.set_faults(answer_delay_ms=8000)
            bot.wait_for("the rebalance's first order on the exchange", lambda: len(exchange_orders(bot)) > 2,
                         timeout=150)
            bot.kill()
            ex.set_faults(answer_delay_ms=0)
            assert len(bot.orders()) == 2  # the database never heard of it
            bot.start()
            bot.wait_for("the rebalance", lambda: rebalanced(bot), timeout=180)
            check_ledger(bot, ledger, "the restart")
            assert bot.log_has("adopted into the trade database")
            assert within_band(bot, 1.0), weights(bot)
        finally:
            finish(bot, ledger, ex)


def test_kill_the_exchange_the_ledger_survives(tmp_path):
    """kill -9 of the exchange after the basket: the bot rides out the outage, the exchange restarts on
    the same port from its ledger, the rebalance completes, and a withdrawal outside the bot is met
    without an order it cannot pay for."""
    port = free_port()
    ledger_file = tmp_path / "ledger.jsonl"
    common = {"clock": "replay", "scenario": JUMP, "pairs": PAIRS, "accounts": True, "balances": {"USDT": 2000},
              "ledger": ledger_file, "port": port}
    with running_replay(**common) as first:
        bot = LiveBot(first, tmp_path / "bot", dict(BASKET))
        bot.start()
        try:
            bot.wait_for("the basket", lambda: len(bot.filled("smartpf-entry")) == 2)
            before = first.account()
            first.process.kill()
            first.process.wait(10)
            time.sleep(8)  # the bot meets a dead exchange
            assert bot.alive()
            with running_replay(**common) as second:
                bot.ex = second
                ledger = Ledger("kill_exchange", bot)
                after = second.account()
                assert after["balances"] == before["balances"] and after["orders"] == before["orders"]
                check_ledger(bot, ledger, "the exchange's restart")
                bot.wait_for("the rebalance", lambda: rebalanced(bot), timeout=200)
                check_ledger(bot, ledger, "the rebalance")
                free = float(second.account()["balances"]["USDT"]["free"])
                second.withdraw("USDT", free - 1)
                time.sleep(15)
                assert not [r for r in second.account()["rejections"] if r["code"] == -2010]
                assert bot.alive()
                finish(bot, ledger, second)
        finally:
            bot.kill()


def reconcile(bot: LiveBot, *extra: str) -> subprocess.CompletedProcess:
    command = [str(Path(sys.executable).parent / "smartpf"), "reconcile", "-c", str(bot.config_path), *extra]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, cwd=bot.workdir)


def test_money_moved_outside_the_bot_is_reported(tmp_path):
    """ETH withdrawn from the account and a BTC buy placed by hand, both outside the bot: `smartpf reconcile`
    names the difference and the orphan (exit 3); the restarted bot reports the orphan, does not count it,
    does not crash and places no order it cannot pay for."""
    with running_replay(clock="replay", scenario={"flat": True}, pairs=PAIRS, accounts=True,
                        balances={"USDT": 2000}) as ex:
        bot = LiveBot(ex, tmp_path, dict(BASKET))
        ledger = Ledger("moved_outside", bot)
        bot.start()
        try:
            bot.wait_for("the basket", lambda: len(bot.filled("smartpf-entry")) == 2)
            ledger.check_holdings("the basket")
            # the portfolio is saved once per loop: agreement comes with the next loop
            bot.wait_for("the three records to agree", lambda: reconcile(bot).returncode == 0, timeout=30)
            assert "agree" in reconcile(bot).stdout
            assert bot.stop() == 130
            ex.withdraw("ETH", 0.01)
            manual = client(ex).create_order("BTC/USDT", "market", "buy", 0.0002)
            ledger.outside.add(manual["id"])
            result = reconcile(bot, "--json")
            assert result.returncode == 3, result.stdout + result.stderr
            report = json.loads(result.stdout)
            eth = next(r for r in report["coins"] if r["coin"] == "ETH")
            assert eth["difference"] == pytest.approx(-0.01, abs=1e-4)
            assert eth["database"] == pytest.approx(eth["state"])
            assert [o["id"] for o in report["orphans"]] == [manual["id"]]
            text = reconcile(bot)
            print(text.stdout)  # shown with -s: the README's example
            assert "<- differs" in text.stdout and f"orphan: order {manual['id']}" in text.stdout
            before = len(bot.log())
            bot.start()
            bot.wait_for("the orphan reported", lambda: "matches no order of the portfolio" in bot.log()[before:],
                         timeout=90)
            time.sleep(10)
            assert bot.alive()
            assert not [r for r in ex.account()["rejections"] if r["code"] == -2010]
            assert len(exchange_orders(bot)) == 3  # the basket and the hand-placed buy; nothing from the bot
            assert ledger.duplicates() == []
        finally:
            rc = bot.stop()
            ledger.write()
        assert rc == 130 and "Traceback" not in before_shutdown(bot.log())
