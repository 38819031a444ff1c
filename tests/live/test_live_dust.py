"""Dust from fees taken in the coin, live: a long run on the replay exchange (Binance's and OKX's signed
APIs, every buy paying its fee in the coin it buys, every order filled in three parts) of 20 operations or
more: the basket, then the investment raised and lowered again and again (each change a deposit that buys
every coin or a withdrawal that sells), with prices swinging each minute at first. At the end, on
the exchange's ledger: no order twice; each coin's dust (the account's balance less the bot's trades)
is below one lot step plus one fee; the bot's value (``smartpf status``) equals the exchange's balances
valued at the same prices; and ``smartpf reconcile`` agrees, showing the dust as dust.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from smartpf.replay.runner import running_replay
from tests.support.exchanges import DATA
from tests.support.livebot import Ledger, LiveBot, finish

from .test_live_faults import reconcile

pytestmark = pytest.mark.e2e
# Coins with 1m candles in the shared data and a market in each protocol's rules file.
COINS = {"binance": ["BTC", "ETH", "SOL", "XRP"], "okx": ["BTC", "ETH", "XRP"]}
OPERATIONS = 20  # the basket, deposits, withdrawals and rebalances
SWINGS = 3  # one a minute (the check interval): ETH up, XRP down; then back; then again; quiet at the end
INVESTMENT, RAISED = 1000, 1200  # the investment goes back and forth between the two
ACCOUNT = 2000.0  # the account's USDT at the start
FEE = 0.001


def swinging() -> dict:
    events = []
    for i in range(SWINGS):
        up, down = (6.0, -6.0) if i % 2 == 0 else (-600 / 106, 600 / 94)  # there and back again
        events += [{"pair": "ETH/USDT", "at": f"{15 + 60 * i}s", "change_pct": up},
                   {"pair": "XRP/USDT", "at": f"{15 + 60 * i}s", "change_pct": down}]
    return {"flat": True, "events": events}


def status(bot: LiveBot) -> dict:
    command = [str(Path(sys.executable).parent / "smartpf"), "status", "-c", str(bot.config_path), "--json"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, cwd=bot.workdir)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def values(bot: LiveBot, account_start: float) -> tuple[float, float]:
    """(the bot's value, the exchange's balances at the bot's prices less the cash outside the portfolio).

    The cash outside is the account's ``account_start`` less the portfolio's principal (``invested``: deposits
    add to it, withdrawals paid out take from it; a withdrawal whose sells raised a little less than asked
    lowers it by what they raised)."""
    view = status(bot)
    outside_cash = account_start - view["invested"]
    balances = bot.ex.account()["balances"]
    total = {a: float(b["free"]) + float(b["locked"]) for a, b in balances.items()}
    exchange = total.get("USDT", 0.0) - outside_cash + sum(total.get(c["coin"], 0.0) * (c["price"] or 0.0)
                                                           for c in view["coins"])
    return view["value"], exchange


@pytest.mark.parametrize("protocol", ["binance", "okx"])
def test_long_run_with_fees_in_the_coin_counts_and_bounds_the_dust(tmp_path, protocol):
    coins = COINS[protocol]
    markets = {} if protocol == "binance" else {"protocol": "okx", "markets": DATA / "okx.json"}
    basket = {"assets": {c: 100 / len(coins) for c in coins}, "investment": INVESTMENT, "threshold": 1}
    with running_replay(clock="replay", scenario=swinging(), pairs=[f"{c}/USDT" for c in coins], accounts=True,
                        balances={"USDT": ACCOUNT}, fee_asset="received", partial_fills=3, **markets) as ex:
        bot = LiveBot(ex, tmp_path, basket, internals={"process_throttle_secs": 2})
        ledger = Ledger(f"dust_{protocol}", bot)
        bot.start()
        try:
            bot.wait_for("the basket", lambda: operations_done(bot) >= 1 and bot.settled(), timeout=120)
            raised, generation = False, 0
            while operations_done(bot) < OPERATIONS or raised:  # it ends at the first investment
                raised, generation = not raised, generation + 1  # (a withdrawal only with a newer generation)
                kind = "deposit" if raised else "withdraw"
                before = funding_done(bot, kind)
                bot.edit(investment=RAISED if raised else INVESTMENT, generation=generation)
                bot.reload()
                bot.wait_for(f"the {kind}", lambda kind=kind, before=before: funding_done(bot, kind) > before
                             and bot.settled(), timeout=120)
            # the bot books a later buy's fee on its next loop (until then it holds more than the exchange)
            bot.wait_for("the fees booked", lambda: bot.settled() and all(
                left >= -1e-12 for left in dust(bot, coins).values()), timeout=60)
            account = ex.account()
            assert len(account["trades"]) >= 20, len(account["trades"])  # fills, each paying its fee
            assert operations_done(bot) >= OPERATIONS
            assert ledger.duplicates() == [], ledger.duplicates()
            buys = [t for t in account["trades"] if t["isBuyer"]]
            assert {t["commissionAsset"] for t in buys} == set(coins)  # every buy paid its fee in the coin
            for coin, left in dust(bot, coins).items():
                largest = max(float(t["qty"]) for t in buys if t["commissionAsset"] == coin)
                assert -1e-12 <= left < ledger.steps[coin] + largest * FEE, (coin, left, ledger.steps[coin])
            # the bot's value = the exchange's money at the same prices (the cash outside the portfolio left out)
            bot.wait_for("the bot's value equal to the exchange's",
                         lambda: bot.settled() and abs(values(bot, ACCOUNT)[0] - values(bot, ACCOUNT)[1]) < 0.01,
                         timeout=30)
            mine, theirs = values(bot, ACCOUNT)
            assert mine == pytest.approx(theirs, abs=0.01), (mine, theirs)
            result = reconcile(bot)
            assert result.returncode == 0, result.stdout + result.stderr
            figures = {"test": f"dust_figures_{protocol}", "operations": operations_done(bot),
                       "orders": len(account["orders"]),
                       "fills": len(account["trades"]), "bot_value": round(mine, 6), "exchange_value": round(theirs, 6),
                       "dust": {c: float(f"{d:.10f}") for c, d in dust(bot, coins).items()},
                       "steps": {c: ledger.steps[c] for c in coins}}
            if os.environ.get("SMARTPF_LIVE_REPORT"):
                with open(os.environ["SMARTPF_LIVE_REPORT"], "a") as f:
                    f.write(json.dumps(figures) + "\n")
            print(figures, result.stdout)  # shown with -s
        finally:
            finish(bot, ledger, ex)


def operations_done(bot: LiveBot) -> int:
    """The operations carried out (the basket, deposits, withdrawals, rebalances), from the bot's log."""
    return len(set(re.findall(r"SmartPortfolio - INFO - smartpf: (?:initial|rebalance|deposit|withdraw) "
                              r"([a-z]+\d+) done", bot.log())))


def funding_done(bot: LiveBot, kind: str) -> int:
    return len(set(re.findall(rf"SmartPortfolio - INFO - smartpf: {kind} ([a-z]+\d+) done", bot.log())))


def rebalances_done(bot: LiveBot) -> int:
    return sum(1 for line in bot.log().splitlines() if "SmartPortfolio - INFO - smartpf: rebalance rb" in line
               and " done: " in line)


def dust(bot: LiveBot, coins: list[str]) -> dict[str, float]:
    """Per coin: the account's total balance less the bot's trades (what the exchange holds outside them)."""
    balances = bot.ex.account()["balances"]
    held = bot.holdings()
    return {c: float(balances[c]["free"]) + float(balances[c]["locked"]) - held.get(c, 0.0) for c in coins}
