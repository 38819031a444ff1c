"""Rebalancing options 1-3 (smartpf_core.gate): min_benefit, bands and rebalance_to, cooldown and max_turnover.

Validation, the rules one by one on a hand-driven engine, invariants under hypothesis, and the fast engine
against the step engine with the options on (random markets and real candles)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smartpf.backtest.candles import Timerange, load_candles
from smartpf.backtest.fastsim import simulate_fast
from smartpf.cli import main
from smartpf.freqtrade.config import freqtrade_config
from smartpf_core import Engine, MarketRules, PortfolioSpec, parse_settings, simulate
from smartpf_core import gate as g
from smartpf_core.allocation import actual_weights
from tests.support.helpers import make_spec, started, tick

from .test_fastsim import assert_same, random_market

# ------------------------------------------------------------------ settings
BAD = [
    ("min_benefit", -1, "a factor greater than 0"),
    ("min_benefit", "yes", "must be true"),
    ("spread", {"BTC": -0.1}, "bid-ask spread"),
    ("spread", {"DOGE": 0.1}, "'DOGE' is not one of the portfolio's coins"),
    ("bands", {"BTC": 0}, "greater than 0"),
    ("bands", {"BTC": 100}, "less than 100"),
    ("bands", 3, "object of coin to"),
    ("bands", {"SOL": 3}, "'SOL' is not one of the portfolio's coins (BTC, ETH)"),
    ("rebalance_to", "edge", "'target' (all the way back), 'halfway'"),
    ("cooldown", "3x", "whole number followed by m, h, d or w"),
    ("cooldown", 7, "must be a text such as"),
    ("max_turnover", 0, "greater than 0 and at most 10000"),
    ("max_turnover", "50%", "percent of the portfolio's value"),
]


@pytest.mark.parametrize("key, value, allowed", BAD, ids=[f"{k}={v!r}" for k, v, _ in BAD])
def test_a_bad_option_exits_2_naming_setting_value_and_what_is_allowed(tmp_path, capsys, key, value, allowed):
    path = tmp_path / "config.json"
    path.write_text(json.dumps(freqtrade_config({"assets": {"BTC": 50, "ETH": 50}, "investment": 1000, key: value})))
    assert main(["validate", "-c", str(path)]) == 2
    out = capsys.readouterr()
    text = out.out + out.err
    assert f"smart_portfolio.{key}" in text and allowed in text, text
    assert "Traceback" not in text


def test_every_option_is_off_by_default_and_a_spec_without_them_saves_as_before():
    spec = make_spec()
    assert spec.gate == g.Gate() and not spec.gate.gates
    assert not set(g.KEYS) & set(spec.to_dict())
    assert spec.band("BTC/USDT") == spec.threshold_rule.band(0.5)


def test_options_round_trip_through_the_saved_spec_and_the_settings():
    section = {"min_benefit": 3, "spread": {"BTC": 0.02, "*": 0.2}, "bands": {"BTC": 3}, "rebalance_to": "band_edge",
               "cooldown": "2d", "max_turnover": 40}
    spec = make_spec(**section)
    assert PortfolioSpec.from_dict(spec.to_dict()) == spec
    section = {k: v for k, v in spec.to_dict().items() if k not in ("stake_currency", "fee")}
    again = parse_settings({"fee": 0.001, "smart_portfolio": section})
    assert again.ok and again.spec == spec
    assert spec.gate.spread_of("BTC") == 0.02 and spec.gate.spread_of("ETH") == 0.2
    assert spec.threshold_for("BTC/USDT").size == 3 and spec.threshold_for("ETH/USDT").size == 1
    assert make_spec(min_benefit=True).gate.min_benefit == 1 and make_spec(min_benefit=False).gate.min_benefit is None


# ------------------------------------------------------------------ the rules on an engine
def drifted(engine, now, btc):
    """Step at a BTC price (ETH unchanged); return the decision."""
    return tick(engine, now, {"BTC/USDT": btc, "ETH/USDT": 10.0})


def test_min_benefit_holds_back_a_rebalance_not_worth_it_and_says_both_numbers():
    # BTC +6.2 %: weights about 51.5 / 48.5, a 1.5 point deviation beyond the 1 point threshold
    engine = started(make_spec(min_benefit=50))
    d = drifted(engine, 120, 106.2)
    assert not d.orders and d.reason.code == g.NOT_WORTH_IT
    details = d.reason.details
    a = actual_weights(engine.holdings, {"BTC/USDT": 106.2, "ETH/USDT": 10.0}, engine.cash, engine.pairs)
    value = engine.value({"BTC/USDT": 106.2, "ETH/USDT": 10.0})
    benefit = value * sum((a[p] - 0.5) ** 2 / 0.5 for p in a)
    traded = sum(abs(a[p] - 0.5) for p in a) * value
    assert details["benefit"] == pytest.approx(benefit) and details["cost"] == pytest.approx(traded * 0.0015)
    assert f"{benefit:.2f} USDT" in d.reason.message and f"cost {traded * 0.0015:.2f} USDT" in d.reason.message
    assert "50 x" in d.reason.message
    # the same drift with min_benefit: true (1x the cost) is worth it
    engine = started(make_spec(min_benefit=True))
    assert drifted(engine, 120, 106.2).orders


def test_a_coin_with_its_own_band_waits_for_it_while_the_others_keep_the_threshold():
    spec = make_spec(assets={"BTC": 40, "ETH": 30, "SOL": 30}, threshold=2, bands={"BTC": 6})
    prices = {"BTC/USDT": 100.0, "ETH/USDT": 10.0, "SOL/USDT": 10.0}
    engine = started(spec, prices)
    # BTC +16 %: BTC about +3.8 points (inside its 6), the others about -1.9 (inside 2): nothing; the reason
    # names the coin furthest out relative to its own band, with that band
    d = tick(engine, 120, {**prices, "BTC/USDT": 116.0})
    assert not d.orders and d.reason.code == "below_threshold" and d.reason.details["pair"] == "ETH/USDT"
    assert d.reason.details["threshold"] == 2 and "within the threshold of 2 percentage points" in d.reason.message
    plain = started(make_spec(assets={"BTC": 40, "ETH": 30, "SOL": 30}, threshold=2), prices)
    assert tick(plain, 120, {**prices, "BTC/USDT": 116.0}).orders  # without the band it rebalances
    # SOL +11 %: SOL beyond its 2 points
    d = tick(engine, 180, {**prices, "SOL/USDT": 11.1})
    assert d.orders and "SOL/USDT" in d.orders[0].pair


@pytest.mark.parametrize("mode, left", [("target", 0.0), ("halfway", 0.5), ("band_edge", 0.9)])
def test_rebalance_to_moves_the_coins_that_far_back(mode, left):
    engine = started(make_spec(rebalance_to=mode, threshold=2, min_trade=0))
    prices = {"BTC/USDT": 115.0, "ETH/USDT": 10.0}
    before = actual_weights(engine.holdings, prices, engine.cash, engine.pairs)["BTC/USDT"] - 0.5
    d = tick(engine, 120, prices)
    assert d.orders
    tick(engine, 180, prices)  # the buy phase
    tick(engine, 240, prices)  # done; the check on the same tick finds it within the threshold
    after = actual_weights(engine.holdings, prices, engine.cash, engine.pairs)["BTC/USDT"] - 0.5
    expected = left * before if mode != "band_edge" else 0.9 * 0.02
    assert after == pytest.approx(expected, abs=0.0015)
    assert engine.status == "running" and engine.operation is None


def test_a_partial_rebalance_keeps_its_targets_across_a_restart():
    engine = started(make_spec(rebalance_to="halfway", threshold=2, min_trade=0))
    prices = {"BTC/USDT": 120.0, "ETH/USDT": 10.0}
    d = tick(engine, 120, prices)  # the sells, filled
    saved = engine.to_dict()
    assert saved["op"]["targets"]
    restored = Engine.from_dict(json.loads(json.dumps(saved)))
    assert restored.to_dict() == saved
    tick(restored, 180, prices)
    tick(engine, 180, prices)
    assert restored.to_dict() == engine.to_dict()
    assert d.orders and abs(actual_weights(restored.holdings, prices, restored.cash, restored.pairs)["BTC/USDT"]
                            - 0.5) > 0.01


def test_cooldown_waits_after_a_rebalance_then_lets_the_next_one_through():
    engine = started(make_spec(cooldown="1d"))
    assert drifted(engine, 120, 110).orders
    drifted(engine, 180, 110)  # buy phase
    d = drifted(engine, 3600, 125)
    assert not d.orders and d.reason.code == g.COOLDOWN and "cooldown of 1d" in d.reason.message
    assert d.reason.details["until"] == 120 + 86400
    assert drifted(engine, 120 + 86400, 125).orders


def test_cooldown_survives_a_restart_from_a_state_saved_without_records():
    """Live, the state is saved without its records and the trade database hands them back (``identify``)."""
    engine = started(make_spec(cooldown="1d"))
    drifted(engine, 120, 110)
    drifted(engine, 180, 110)
    restored = Engine.from_dict(json.loads(json.dumps(engine.to_dict(records=False))))
    restored.identify("p1", engine.seq, engine.records)
    assert drifted(restored, 3600, 125).reason.code == g.COOLDOWN
    assert drifted(restored, 120 + 86400, 125).orders


def test_max_turnover_scales_a_rebalance_to_the_room_left_then_waits():
    engine = started(make_spec(max_turnover=3, min_trade=0, price_guard=None))
    prices = {"BTC/USDT": 130.0, "ETH/USDT": 10.0}  # about 6.5 points off: a full rebalance trades ~13 %
    value = engine.value(prices)
    d = tick(engine, 120, prices)
    assert d.orders
    tick(engine, 180, prices)
    traded = g.turnover_since(engine.records, 0)
    assert traded <= 0.03 * value * 1.001 and traded > 0.02 * value
    codes = set()
    for t in range(240, 240 + 60 * 20, 60):  # the little room left goes in orders too small to send, or waits
        d = tick(engine, t, {"BTC/USDT": 150.0, "ETH/USDT": 10.0})
        codes.add(d.reason.code if d.reason else "orders")
    assert g.turnover_since(engine.records, 0) <= 0.03 * value * 1.001
    assert codes <= {g.TURNOVER_CAP, "orders_too_small", "orders", "rebalance_in_progress"}, codes
    # 30 days after the first one its trades leave the window
    assert tick(engine, 120 + g.TURNOVER_WINDOW + 60, {"BTC/USDT": 150.0, "ETH/USDT": 10.0}).orders


def test_a_change_of_targets_is_never_held_back():
    engine = started(make_spec(cooldown="7d", min_benefit=1000))
    assert drifted(engine, 120, 140).orders is not None
    new = make_spec(cooldown="7d", min_benefit=1000, assets={"BTC": 30, "ETH": 70})
    engine.update_spec(new)
    for t in (240, 300, 360):
        d = tick(engine, t, {"BTC/USDT": 140.0, "ETH/USDT": 10.0})
        if d.orders:
            break
    assert d.orders and engine.records[-1].trigger == "targets_changed"


# ------------------------------------------------------------------ invariants
weights_st = st.lists(st.floats(0.05, 1), min_size=2, max_size=6)


def _basket(raw, shock):
    total = sum(raw)
    w = {f"C{i}/USDT": x / total for i, x in enumerate(raw)}
    moved = {p: x * s for (p, x), s in zip(w.items(), shock, strict=False)}
    total = sum(moved.values())
    return w, {p: x / total for p, x in moved.items()}


@given(raw=weights_st, shock=st.lists(st.floats(0.2, 5), min_size=6, max_size=6), factor=st.floats(0, 1))
def test_partial_targets_sum_to_one_and_shrink_every_deviation_by_the_factor(raw, shock, factor):
    w, a = _basket(raw, shock)
    t = g.partial_targets(a, w, factor)
    assert sum(t.values()) == pytest.approx(1)
    for p in w:
        assert t[p] - w[p] == pytest.approx(factor * (a[p] - w[p]), abs=1e-12)
    benefit, fees, spread = g.estimate(a, t, w, 0.001, {})
    full, full_fees, _ = g.estimate(a, w, w, 0.001, {})
    assert benefit >= -1e-12 and fees >= 0 and spread >= 0
    assert full >= benefit - 1e-12 and full_fees >= fees - 1e-12


@given(raw=weights_st, shock=st.lists(st.floats(0.2, 5), min_size=6, max_size=6), band=st.floats(0.001, 0.2))
def test_band_edge_brings_every_coin_back_inside_its_band(raw, shock, band):
    w, a = _basket(raw, shock)
    bands = {p: band for p in w}
    t = g.partial_targets(a, w, g.edge_factor(a, w, bands))
    for p in w:
        assert abs(t[p] - w[p]) <= max(band * g.EDGE, abs(a[p] - w[p])) + 1e-12
        assert abs(t[p] - w[p]) <= abs(a[p] - w[p]) + 1e-12


@given(raw=weights_st, shock=st.lists(st.floats(0.2, 5), min_size=6, max_size=6), cap=st.floats(0.1, 100),
       used=st.floats(0, 200), value=st.floats(10, 1e6))
def test_max_turnover_never_plans_more_than_the_room_left(raw, shock, cap, used, value):
    w, a = _basket(raw, shock)
    from smartpf_core.records import OperationRecord, TradeRecord
    past = OperationRecord("rb1", "rebalance", "threshold", "", 0.0, finished_at=0.0,
                           trades=[TradeRecord(0.0, "C0/USDT", "sell", used / 100 * value, 1.0, 0.0, "x")])
    targets, reason = g.hold_back(g.Gate(max_turnover=cap), weights=w, actual=a, value=value, fee=0.001,
                                  records=[past], trigger="threshold", now=10.0, currency="USDT", bands={})
    room = cap / 100 * value - used / 100 * value
    if reason is not None:
        assert reason.code == g.TURNOVER_CAP and room <= 0.005 * cap / 100 * value
    else:
        assert g.volume(a, targets or w) * value <= max(room, 0) * (1 + 1e-9) + 1e-9


@given(raw=weights_st, shock=st.lists(st.floats(0.5, 2), min_size=6, max_size=6), n=st.floats(0.1, 100))
def test_min_benefit_lets_through_exactly_what_beats_n_times_the_cost(raw, shock, n):
    w, a = _basket(raw, shock)
    _, reason = g.hold_back(g.Gate(min_benefit=n), weights=w, actual=a, value=1000.0, fee=0.001, records=[],
                            trigger="threshold", now=0.0, currency="USDT", bands={})
    benefit, fees, spread = g.estimate(a, w, w, 0.001, {p: g.DEFAULT_SPREAD for p in w})
    assert (reason is None) == (benefit >= n * (fees + spread))


# ------------------------------------------------------------------ fast engine = step engine
OPTION_SETS = [
    {"min_benefit": True}, {"min_benefit": 20, "spread": 0.3}, {"bands": {"C0": 0.5}}, {"rebalance_to": "halfway"},
    {"rebalance_to": "band_edge", "bands": {"C1": 4}}, {"cooldown": "4h"}, {"max_turnover": 15},
    {"max_turnover": 40, "cooldown": "30m", "rebalance_to": "halfway", "min_benefit": 5},
    {"max_turnover": 5, "rebalance_to": "band_edge"},
]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(2, 1200), pairs=st.integers(2, 5),
       options=st.sampled_from(OPTION_SETS), threshold=st.floats(0.2, 10),
       threshold_type=st.sampled_from(["absolute", "relative"]), mode=st.sampled_from(["proportional", "scheduled"]),
       spacing=st.sampled_from([60, 300, 3600]), gap_rate=st.sampled_from([0.0, 0.01]),
       min_trade=st.sampled_from([0.0, 5.0]), execution=st.sampled_from(["next-candle", "same-candle"]))
def test_fast_equals_step_with_the_options_on(seed, n, pairs, options, threshold, threshold_type, mode, spacing,
                                              gap_rate, min_trade, execution):
    times, opens, closes = random_market(seed, n, pairs, 0.002, gap_rate, spacing)
    assets = {p.split("/")[0]: 100 / pairs for p in opens}
    section = {"assets": assets, "investment": 10000, "threshold": threshold, "threshold_type": threshold_type,
               "mode": mode, "interval": "4h", "min_trade": min_trade,
               **{k: v for k, v in options.items() if k != "bands" or "C1" in assets}}
    result = parse_settings({"stake_currency": "USDT", "fee": 0.001, "smart_portfolio": section})
    assert result.ok, result.lines()
    rules = {p: MarketRules(min_notional=5, amount_step=0.001) for p in opens}
    step = simulate(result.spec, times.tolist(), {p: v.tolist() for p, v in opens.items()},
                    {p: v.tolist() for p, v in closes.items()}, rules=rules, execution=execution)
    fast = simulate_fast(result.spec, times, opens, closes, rules=rules, execution=execution)
    assert_same(step, fast)
    rebalances = [r for r in step.engine.records if r.kind == "rebalance"]
    if result.spec.gate.cooldown:  # and the cooldown holds: no two rebalances closer than it
        starts = np.diff([r.started_at for r in rebalances])
        assert (starts >= result.spec.gate.cooldown).all()


SIX = ("BTC/USDT", "ETH/USDT", "SOL/USDT", "XRP/USDT", "ADA/USDT", "DOGE/USDT")
MAJORS = ("BTC/USDT", "ETH/USDT", "BNB/USDT", "SOL/USDT", "XRP/USDT")
REAL = [
    ("5m-min-benefit", "5m", MAJORS, "20250301-20250401", {"threshold": 0.3, "min_benefit": 20}),
    ("1h-bands-band-edge", "1h", SIX, "20230101-20230301",
     {"threshold": 2, "bands": {"BTC": 1, "DOGE": 4}, "rebalance_to": "band_edge"}),
    ("1h-halfway", "1h", SIX, "20230101-20230301", {"threshold": 1, "rebalance_to": "halfway"}),
    ("5m-cooldown-max-turnover", "5m", MAJORS, "20250301-20250401",
     {"threshold": 0.5, "cooldown": "6h", "max_turnover": 30}),
]


@pytest.mark.parametrize("name, timeframe, pairs, timerange, section", REAL, ids=[c[0] for c in REAL])
def test_fast_equals_step_with_the_options_on_real_candles(datadir, real_rules, name, timeframe, pairs, timerange,
                                                           section):
    candles = load_candles(datadir, list(pairs), timeframe, Timerange.parse(timerange))
    body = {"assets": {p.split("/")[0]: 100 / len(pairs) for p in pairs}, "investment": 1000, **section}
    spec = parse_settings({"stake_currency": "USDT", "fee": 0.001, "smart_portfolio": body}).spec
    rules = {p: real_rules[p] for p in pairs}
    step = simulate(spec, candles.times.tolist(), {p: candles.opens[p].tolist() for p in pairs},
                    {p: candles.closes[p].tolist() for p in pairs}, rules=rules)
    fast = simulate_fast(spec, candles.times, candles.opens, candles.closes, rules=rules)
    assert_same(step, fast)
    assert fast.rebalances >= 1
    plain = simulate_fast(parse_settings({"fee": 0.001, "smart_portfolio": {
        k: v for k, v in body.items() if k not in g.KEYS}}).spec, candles.times, candles.opens, candles.closes,
        rules=rules)
    assert trade_count(fast) != trade_count(plain) or fast.final_value != plain.final_value  # the option acted


def trade_count(result):
    return sum(len(r.trades) for r in result.engine.records)
