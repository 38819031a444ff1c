"""The rebuilt value series against the engine's own ledger: investment changes, and random baskets
over real candles (hypothesis): the series ends where the engine ends, the premium split adds up."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smartpf.backtest.candles import Candles, Timerange, load_candles
from smartpf.backtest.fastsim import simulate_fast
from smartpf.reporting.premium import premium_split
from smartpf.reporting.series import rebuild
from smartpf.reporting.sources import from_state
from smartpf_core import parse_settings
from tests.support.helpers import RULES, make_spec, tick

PRICES = [(100.0, 10.0), (100.0, 10.0), (130.0, 10.0), (130.0, 10.0), (120.0, 11.0), (120.0, 11.0),
          (110.0, 12.0), (110.0, 12.0), (105.0, 12.0)]


def _synthetic(engine_changes):
    """Tick an engine every minute over PRICES, applying ``engine_changes[i](engine)`` before tick i."""
    from smartpf_core import Engine

    engine = Engine(make_spec(threshold=2), RULES)
    times = np.arange(len(PRICES), dtype=np.int64) * 60
    for i, (btc, eth) in enumerate(PRICES):
        if i in engine_changes:
            engine_changes[i](engine)
        tick(engine, float(times[i]), {"BTC/USDT": btc, "ETH/USDT": eth})
    opens = {"BTC/USDT": np.array([p[0] for p in PRICES]), "ETH/USDT": np.array([p[1] for p in PRICES])}
    candles = Candles(times, opens, {p: v.copy() for p, v in opens.items()})
    return engine, candles


def _report(engine, candles):
    last = {p: float(v[-1]) for p, v in candles.closes.items()}
    summary = {"invested": engine.invested, "final_value": engine.value(last), "hodl_value": engine.hodl.value(last)}
    return from_state(engine.to_dict(), summary, candles, "1m", "t", "s"), last


def test_a_deposit_and_a_withdrawal_are_in_the_series_and_the_hodl_shadow():
    raise_to = lambda e: e.update_spec(make_spec(threshold=2, investment=1500))  # noqa: E731
    lower_to = lambda e: e.update_spec(make_spec(threshold=2, investment=1100))  # noqa: E731
    engine, candles = _synthetic({4: raise_to, 6: lower_to})
    kinds = [r.kind for r in engine.records]
    assert "deposit" in kinds and "withdraw" in kinds, kinds
    data, last = _report(engine, candles)
    series = rebuild(data)
    assert series.cash[-1] == pytest.approx(engine.cash, abs=1e-9) and series.cash_gap == pytest.approx(0, abs=1e-9)
    assert series.value[-1] == pytest.approx(engine.value(last), rel=1e-12)
    assert series.hodl[-1] == pytest.approx(engine.hodl.value(last), rel=1e-12)
    split = premium_split(data, series)
    parts = split["rebalancing"] + split["left_undone_by_minimums"] + split["fees"] + split["exit"] + split["other"]
    assert parts == pytest.approx(split["premium"], abs=1e-9)


def test_cash_moved_outside_the_records_is_measured():
    """A withdrawal taken from idle cash alone leaves no operation record: the gap is measured, not hidden."""
    engine, candles = _synthetic({})
    data, _ = _report(engine, candles)
    data.final_cash = engine.cash - 25.0
    assert rebuild(data).cash_gap == pytest.approx(-25.0)


COINS = ["BTC", "ETH", "SOL", "XRP"]


@pytest.fixture(scope="module")
def candles_2024(datadir):
    return load_candles(datadir, [f"{c}/USDT" for c in COINS], "1h", Timerange.parse("20240101-20240401"))


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(weights=st.lists(st.integers(1, 10), min_size=2, max_size=4), threshold=st.sampled_from([1, 2, 5]),
       start=st.integers(0, 1000), length=st.integers(50, 1100), investment=st.sampled_from([100, 1000, 25000]),
       same_candle=st.booleans())
def test_rebuilt_series_ends_at_the_engines_figures(candles_2024, real_rules, weights, threshold, start, length,
                                                    investment, same_candle):
    shares = [round(100 * w / sum(weights), 2) for w in weights]
    shares[-1] = round(100 - sum(shares[:-1]), 2)
    assets = dict(zip(COINS, shares, strict=False))
    parsed = parse_settings({"stake_currency": "USDT", "fee": 0.001, "smart_portfolio": {
        "assets": assets, "investment": investment, "threshold": threshold}})
    assert parsed.ok, parsed.lines()
    spec = parsed.spec
    window = slice(start, start + length)
    candles = Candles(candles_2024.times[window], {p: candles_2024.opens[p][window] for p in spec.pairs},
                      {p: candles_2024.closes[p][window] for p in spec.pairs})
    result = simulate_fast(spec, candles.times, candles.opens, candles.closes,
                           rules={p: real_rules[p] for p in spec.pairs},
                           execution="same-candle" if same_candle else "next-candle")
    summary = {"invested": result.invested, "final_value": result.final_value, "hodl_value": result.hodl_value}
    data = from_state(result.engine.to_dict(), summary, candles, "1h", "t", "s")
    series = rebuild(data)
    assert series.value[-1] == pytest.approx(result.final_value, rel=1e-9)
    assert series.hodl[-1] == pytest.approx(result.hodl_value, rel=1e-9)
    assert series.drawdown_pct.max() == pytest.approx(result.max_drawdown_pct, rel=1e-6, abs=1e-9)
    weights_sum = np.nansum(series.weights_pct, axis=1)[series.started]
    cash_pct = series.cash[series.started] / series.value[series.started] * 100
    assert np.allclose(weights_sum + cash_pct, 100.0)
    split = premium_split(data, series)
    assert abs(split["other"]) < 1e-6 * investment
