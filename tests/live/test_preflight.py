"""``smartpf preflight`` against the replay exchange's signed Binance API: an ``init`` config with the
replay-live settings on top (as the README's rehearsal layers them) passes every check; the same
account without enough USDT, a dry-run config and a config without keys fail, each naming the setting
or the number it checked. No bot runs: preflight reads the account itself."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from smartpf.replay.runner import REPLAY_LIVE_CONFIG, running_replay

pytestmark = pytest.mark.e2e
SMARTPF = str(Path(sys.executable).parent / "smartpf")


def preflight(*configs: Path) -> subprocess.CompletedProcess:
    args = [a for c in configs for a in ("-c", str(c))]
    return subprocess.run([SMARTPF, "preflight", *args], capture_output=True, text=True, timeout=120)


def test_preflight_checks_what_going_live_needs(tmp_path):
    mine = tmp_path / "config.json"
    made = subprocess.run([SMARTPF, "init", "--preset", "btc-eth", "--investment", "1000", "-o", str(mine)],
                          capture_output=True, text=True, timeout=60)
    assert made.returncode == 0, made.stderr
    with running_replay(clock="replay", scenario={"flat": True}, pairs=["BTC/USDT", "ETH/USDT"], accounts=True,
                        balances={"USDT": 2000}) as ex:
        live = ex.write_config(tmp_path / "config.replay-live.json", base=REPLAY_LIVE_CONFIG)
        ready = preflight(mine, live)
        assert ready.returncode == 0, ready.stdout + ready.stderr
        out = ready.stdout
        for line in ("ok    dry_run is false", "ok    exchange keys present for binance",
                     "ok    REST API on 127.0.0.1:8080 with credentials", "ok    exchange binance reachable",
                     "ok    balance: 2000.00 USDT free, at least the investment 1000 USDT",
                     "ok    minimums: the investment 1000 clears the minimum", "key permissions",
                     "ready to go live"):
            assert line in out, out
        assert "smartpf-replay-secret" not in out and "smartpf-replay-key" not in out  # keys never printed

        ex.withdraw("USDT", 1500)
        short = preflight(mine, live)
        assert short.returncode == 2
        assert ("FAIL  balance: 500.00 USDT free, less than the investment 1000 USDT (deposit 500.00 more"
                in short.stdout)

        keyless = tmp_path / "keyless.json"
        keyless.write_text(json.dumps({"exchange": {"key": "", "secret": ""}, "dry_run": True}))
        bad = preflight(mine, live, keyless)
        assert bad.returncode == 2
        assert "FAIL  dry_run is true" in bad.stdout and "FAIL  exchange.key and exchange.secret: empty" in bad.stdout
