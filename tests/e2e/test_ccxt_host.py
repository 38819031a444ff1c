"""The second host (examples/ccxt_host.py: smartpf_core and ccxt, no Freqtrade) trading on the replay exchange's
signed Binance API. Checked on the exchange's ledger: the basket is bought once although the host is killed
(SIGKILL) with its first order in flight, and a price move is rebalanced after the restart."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from smartpf import paths
from smartpf.replay.runner import REPLAY_LIVE_CONFIG, ReplayExchange, running_replay
from smartpf_core import Engine

pytestmark = pytest.mark.e2e
HOST = paths.REPO_ROOT / "examples" / "ccxt_host.py"
PAIRS = ["BTC/USDT", "ETH/USDT"]
BTC_ORDER = "init1:buy:BTC/USDT"  # the engine's first order id, and the client order id the host gives it


class Host:
    """One run of the host, its output in a file."""

    def __init__(self, config: Path, log: Path) -> None:
        self.log_path = log
        with open(log, "a") as out:
            self.proc = subprocess.Popen([sys.executable, str(HOST), "-c", str(config), "--seconds", "300"],
                                         stdout=out, stderr=subprocess.STDOUT, cwd=config.parent,
                                         env={**os.environ, "PYTHONUNBUFFERED": "1"})

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def wait_for(what: str, predicate: Callable[[], object], host: Host | None = None, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        assert host is None or host.proc.poll() is None, f"the host exited while waiting for {what}:\n{host.log()}"
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}" + (f"\n{host.log()[-4000:]}" if host else ""))


def orders(ex: ReplayExchange) -> list[tuple[str, str, str, str]]:
    return [(o["clientOrderId"], o["symbol"], o["side"], o["status"]) for o in ex.account()["orders"]]


def test_ccxt_host_buys_once_through_a_kill_and_rebalances(tmp_path):
    # ETH +20 % once the basket is bought (with the kill and the restart, about 5 s; 25 s leaves room for a
    # loaded machine), just before a minute boundary: the check of that minute rebalances (sell ETH, buy BTC).
    now = time.time()
    at = math.ceil((now + 25) / 60) * 60 - 5 - now  # from the server's start, a second or two from now
    scenario = {"flat": True, "events": [{"pair": "ETH/USDT", "at": f"{int(at)}s", "change_pct": 20}]}
    with running_replay(clock="replay", scenario=scenario, pairs=PAIRS, accounts=True, balances={"USDT": 2000},
                        fee_asset="received") as ex:
        config = tmp_path / "config.json"
        ex.write_config(config, {"smart_portfolio": {"assets": {"BTC": 50, "ETH": 50}, "investment": 1000},
                                 "exchange": {"pair_whitelist": PAIRS, "ccxt_config": {"timeout": 60000}},
                                 "internals": {"process_throttle_secs": 1}},
                        base=REPLAY_LIVE_CONFIG)
        state = tmp_path / "config.state.json"
        log = tmp_path / "host.log"

        # 1. The exchange fills an order at once but answers 20 s later (ccxt waits up to 60 s): once the BTC
        #    order is on the exchange, the host is waiting for the answer. It is killed then (kill -9).
        ex.set_faults(answer_delay_ms=20000)
        host = Host(config, log)
        wait_for("the BTC order on the exchange", lambda: orders(ex), host)
        host.proc.kill()
        host.proc.wait(10)
        assert orders(ex) == [(BTC_ORDER, "BTCUSDT", "BUY", "FILLED")]
        saved = Engine.from_dict(json.loads(state.read_text()))
        assert saved.order_status(BTC_ORDER) == "planned"  # the host never heard the answer

        # 2. Restart: the host finds its order by the client order id, books it, and buys only ETH.
        ex.set_faults(answer_delay_ms=0)
        host = Host(config, log)
        try:
            wait_for("the basket", lambda: "initial init1 done" in host.log(), host)
            assert time.time() < now + at, "the basket took longer than the margin left before the price move"
            assert orders(ex) == [(BTC_ORDER, "BTCUSDT", "BUY", "FILLED"),
                                  ("init1:buy:ETH/USDT", "ETHUSDT", "BUY", "FILLED")]
            assert f"{BTC_ORDER} is already on the exchange" in host.log()

            # 3. The price move is rebalanced in two phases; the basket is still the two first orders only.
            wait_for("the rebalance", lambda: "rebalance rb2 done" in host.log(), host, timeout=150)
            time.sleep(3)  # a few more ticks: nothing else is sent
            assert orders(ex) == [(BTC_ORDER, "BTCUSDT", "BUY", "FILLED"),
                                  ("init1:buy:ETH/USDT", "ETHUSDT", "BUY", "FILLED"),
                                  ("rb2:sell:ETH/USDT", "ETHUSDT", "SELL", "FILLED"),
                                  ("rb2:buy:BTC/USDT", "BTCUSDT", "BUY", "FILLED")]
        finally:
            if host.proc.poll() is None:
                host.proc.send_signal(signal.SIGINT)
            rc = host.proc.wait(30)
        assert rc == 0 and "Traceback" not in host.log(), host.log()[-3000:]

        # The engine's books agree with the exchange's balances: what it holds, to the last step.
        engine = Engine.from_dict(json.loads(state.read_text()))
        balances = ex.account()["balances"]
        for pair in PAIRS:
            coin = pair.split("/")[0]
            assert engine.holdings[pair] == pytest.approx(float(balances[coin]["free"]), abs=1e-8), (coin, balances)
        spent = 2000 - float(balances["USDT"]["free"])
        assert engine.cash == pytest.approx(1000 - spent, abs=1e-6)
        assert ex.state()["unknown_paths"] == {}
