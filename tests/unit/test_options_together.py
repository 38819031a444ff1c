"""The rebalancing options of smartpf_core.gate (a fee-aware gate, bands, partial rebalances, cooldown, a
turnover cap) together with those of smartpf_core.flows (computed weights, recurring deposits, a coin frozen
out): the two engines still agree record for record."""

from __future__ import annotations

import pytest

from smartpf.backtest.candles import Timerange, load_candles

from .test_fastsim import assert_same, both, spec_of

PAIRS = ("BTC/USDT", "ETH/USDT", "SOL/USDT", "XRP/USDT")
TOGETHER = [
    {"threshold": 1, "weights": "inverse_volatility", "volatility_window": "14d", "rebalance_to": "halfway"},
    {"threshold": 1, "weights": "inverse_volatility", "min_benefit": True, "cooldown": "1d"},
    {"threshold": 1, "bands": {"SOL": 3}, "rebalance_to": "band_edge", "recurring": {"amount": 100, "every": "7d"}},
    {"threshold": 2, "max_turnover": 30, "stale_after": "6h", "weights": "equal"},
]


@pytest.mark.parametrize("section", TOGETHER, ids=lambda s: "+".join(k for k in s if k != "threshold"))
def test_gate_and_flows_together_fast_equals_step(datadir, section):
    candles = load_candles(datadir, list(PAIRS), "1h", Timerange.parse("20230101-20230401"))
    spec = spec_of(PAIRS, **section)
    step, fast = both(spec, candles.times, candles.opens, candles.closes)
    assert_same(step, fast)
    assert step.rebalances > 0
