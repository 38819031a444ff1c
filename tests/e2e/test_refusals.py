"""A bad configuration never starts: Freqtrade exits non-zero with the core's message, no traceback."""

from __future__ import annotations

import pytest

from tests.support.freqtrade_runs import ft_backtest, smartpf_config

GOOD = {"assets": {"BTC": 50, "ETH": 50}, "investment": 1000}


@pytest.mark.e2e
@pytest.mark.parametrize("section, overrides, fragments", [
    ({**GOOD, "threshold": 0}, {}, ["smart_portfolio.threshold = 0", "will not start"]),
    ({**GOOD, "treshold": 2}, {}, ["did you mean 'threshold'"]),
    (GOOD, {"stoploss": -0.1}, ["stoploss = -0.1"]),
    (GOOD, {"max_open_trades": 1}, ["max_open_trades = 1"]),
    ({**GOOD, "investment": 10}, {}, ["below the minimum investment"]),
    ({**GOOD, "investment": 1000}, {"dry_run_wallet": 100}, ["more than the account can fund"]),
], ids=["invalid-setting", "unknown-key", "stoploss", "max-open-trades", "below-minimum", "unfundable"])
def test_refuses_to_start(history_exchange, tmp_path, section, overrides, fragments):
    config = smartpf_config(history_exchange, tmp_path, section, timeframe="1h", **overrides)
    proc = ft_backtest(config, "20240101-20240105", timeout=300)
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0, output[-3000:]
    for fragment in fragments:
        assert fragment in output, output[-3000:]
    assert "Traceback" not in output, output[-3000:]
