"""Money moved outside the bot, live on the replay exchange's signed API (issue 18 item 8): the operator
withdraws 60 % of the ETH. The bot checks the account every loop: it says once that the account holds less
than the portfolio, shows `diverged` in `smartpf status` and `why`, and places no order. Stopped, `smartpf
reconcile --apply` takes the account's amounts as the truth; started again, it trades on the real amounts.
Checked on the exchange's ledger: no order while diverged, none sent twice, holdings equal within a step."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from smartpf.replay.runner import running_replay
from tests.live.test_live_bot import BASKET, PAIRS, exchange_orders
from tests.support.livebot import Ledger, LiveBot, finish

pytestmark = pytest.mark.e2e
SAID = "SmartPortfolio - INFO - smartpf: the account holds less than the portfolio"
FOREIGN = "is not one of the portfolio's orders"


def smartpf(bot: LiveBot, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "smartpf.cli", *args, "-c", str(bot.config_path)],
                          capture_output=True, text=True, timeout=120)


def test_a_withdrawal_outside_the_bot_stops_trading_once_and_reconcile_apply_resumes(tmp_path):
    with running_replay(clock="replay", scenario={"flat": True}, pairs=PAIRS, accounts=True,
                        balances={"USDT": 2000}) as ex:
        bot = LiveBot(ex, tmp_path, dict(BASKET))
        ledger = Ledger("withdrawn_outside", bot)
        bot.start()
        try:
            bot.wait_for("the initial basket", lambda: len(bot.filled("smartpf-entry")) == 2)
            ledger.check_holdings("the basket")
            eth = float(ex.account()["balances"]["ETH"]["free"])
            ex.withdraw("ETH", round(eth * 0.6, 8))
            count = len(exchange_orders(bot))
            bot.wait_for("the divergence said", lambda: bot.log_has(SAID), timeout=90)
            status = bot.wait_for("diverged in status", lambda: (lambda r: "diverged" in r.stdout and r)(
                smartpf(bot, "status")), timeout=60)
            assert status.returncode == 0, status.stderr
            why = smartpf(bot, "why")
            assert "diverged" in why.stdout and "ETH: the account holds" in why.stdout, why.stdout + why.stderr
            time.sleep(15)  # loops go by: still no order, and it was said once
            assert len(exchange_orders(bot)) == count, exchange_orders(bot)
            assert bot.log().count(SAID) == 1
            assert bot.log().count(FOREIGN) <= 1 and bot.alive()  # (Freqtrade's own "Not enough ETH" stays)
            assert bot.stop() == 130

            applied = smartpf(bot, "reconcile", "--apply", "--force")
            assert applied.returncode == 0, applied.stdout + applied.stderr
            assert "booked as moved outside the bot" in applied.stdout
            left = float(ex.account()["balances"]["ETH"]["free"])
            assert left - ledger.steps["ETH"] < bot.holdings()["ETH"] <= left  # the account's, on the step
            check = smartpf(bot, "reconcile")
            assert check.returncode == 0, check.stdout  # exchange, database and portfolio agree

            bot.start()  # ETH is now under its target: the bot rebalances on the real amounts
            bot.wait_for("the rebalance buy", lambda: any(o["ft_order_side"] == "buy" for o in bot.filled("rb")),
                         timeout=150)
            ledger.check_holdings("the rebalance after reconcile")
            assert ledger.duplicates() == [], ledger.duplicates()
            assert [(o["symbol"], o["side"]) for o in exchange_orders(bot)[count:]] == [("BTCUSDT", "SELL"),
                                                                                       ("ETHUSDT", "BUY")]
            assert bot.log().count(SAID) == 1
        finally:
            finish(bot, ledger, ex)
