"""End-to-end, offline: a rejected reload that also edited the whitelist. Freqtrade takes the new whitelist,
the strategy keeps the last good settings: no entry on the added pair, and the log says so."""

from __future__ import annotations

import json
import time

import pytest

from smartpf.replay.runner import before_shutdown, running_replay
from tests.support.dryrun import DryRun

pytestmark = pytest.mark.e2e


def test_rejected_reload_keeps_the_bot_to_the_last_good_pairs(tmp_path):
    with running_replay(clock="replay", scenario={"flat": True},
                        pairs=["BTC/USDT", "ETH/USDT", "SOL/USDT"]) as ex:
        bot = DryRun(ex, tmp_path, {"assets": {"BTC": 50, "ETH": 50}, "investment": 1000})
        bot.start()
        try:
            bot.wait_for("the initial basket", lambda: len(bot.filled("smartpf-entry")) == 2)
            # SOL added to the whitelist and the assets, but with an invalid threshold: rejected as a whole
            config = json.loads(bot.config_path.read_text())
            config["exchange"]["pair_whitelist"].append("SOL/USDT")
            config["max_open_trades"] = 3
            config["smart_portfolio"].update(assets={"BTC": 40, "ETH": 40, "SOL": 20}, threshold=0)
            bot.config_path.write_text(json.dumps(config, indent=2))
            bot.reload()
            bot.wait_for("the rejection", lambda: "invalid settings change rejected" in bot.log())
            bot.wait_for("the refused entry", lambda: "no entry on SOL/USDT" in bot.log(), timeout=60)
            time.sleep(12)  # a few more loops with SOL in Freqtrade's whitelist
            assert bot.alive()
            assert not [o for o in bot.orders() if o["ft_pair"] == "SOL/USDT"], bot.orders()
            assert bot.log().count("no entry on SOL/USDT") == 1  # said once, not every loop
            assert bot.state()["engine"]["spec"]["assets"] == {"BTC": 50, "ETH": 50}
        finally:
            rc = bot.stop()
        assert rc == 130
        assert "Traceback" not in before_shutdown(bot.log())
