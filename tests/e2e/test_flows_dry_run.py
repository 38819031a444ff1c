"""End-to-end, offline: ``add --underweight-only`` and ``set --drop COIN --sell`` against a real
`freqtrade trade --dry-run` on the replay exchange (the checked steering path, the trade database as the truth)."""

from __future__ import annotations

import json

import pytest

from smartpf.replay.runner import running_replay
from tests.support.dryrun import DryRun

from .test_steering_dry_run import smartpf, status

pytestmark = pytest.mark.e2e
PAIRS = ["BTC/USDT", "ETH/USDT", "SOL/USDT"]
BASKET = {"assets": {"BTC": 40, "ETH": 30, "SOL": 30}, "investment": 1000, "threshold": 3}


def test_an_underweight_deposit_and_a_dropped_coin_sold_from_the_command_line(tmp_path):
    with running_replay(clock="replay", scenario={"flat": True}, pairs=PAIRS) as ex:
        bot = DryRun(ex, tmp_path, dict(BASKET))
        bot.start()
        try:
            bot.wait_for("the basket", lambda: len(bot.filled("smartpf-entry")) == 3)
            bot.wait_for("the basket booked", lambda: status(bot)["status"] == "running" and status(bot)["prices_at"])
            add = smartpf(bot, "add", "150", "--underweight-only")
            assert add.returncode == 0, add.stdout + add.stderr
            bot.wait_for("the deposit booked", lambda: status(bot)["invested"] == 1150
                         and status(bot)["status"] == "running" and len(bot.filled("dep")) >= 1)
            assert all(o["ft_order_side"] == "buy" for o in bot.filled("dep"))
            assert json.loads(bot.config_path.read_text())["smart_portfolio"]["inflow"] == "underweight"

            drop = smartpf(bot, "set", "--drop", "SOL", "--sell")
            assert drop.returncode == 0, drop.stdout + drop.stderr
            section = json.loads(bot.config_path.read_text())["smart_portfolio"]
            assert section["assets"] == pytest.approx({"BTC": 400 / 7, "ETH": 300 / 7})
            assert section["dropped"] == ["SOL"]
            bot.wait_for("SOL sold", lambda: bot.open_trades() == 2 and any(
                o["ft_pair"] == "SOL/USDT" and o["ft_order_side"] == "sell" for o in bot.filled()), timeout=240)
            bot.wait_for("rebalanced without SOL", lambda: status(bot)["status"] == "running" and {
                c["pair"]: round(c["target_pct"], 2) for c in status(bot)["coins"]}.get("BTC/USDT") == 57.14)
        finally:
            bot.stop()
