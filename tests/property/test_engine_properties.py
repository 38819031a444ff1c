"""Invariants, checked on many generated portfolios and price paths (hypothesis)."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from smartpf_core import Engine, Fill, MarketRules, Snapshot, parse_settings, portfolio_value

COINS = ["AAA", "BBB", "CCC", "DDD"]
SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def portfolios(draw):
    n = draw(st.integers(2, 4))
    cuts = sorted(draw(st.lists(st.integers(1, 9), min_size=n - 1, max_size=n - 1, unique=True)))
    parts = [b - a for a, b in zip([0, *cuts], [*cuts, 10], strict=True)]
    assets = {COINS[i]: parts[i] * 10 for i in range(n)}
    threshold_type = draw(st.sampled_from(["absolute", "relative"]))
    section = {
        "assets": assets,
        "investment": draw(st.floats(2000, 1e6)),
        "threshold": draw(st.sampled_from([0.5, 1.0, 2.0, 5.0])) * (10 if threshold_type == "relative" else 1),
        "threshold_type": threshold_type,
        "mode": draw(st.sampled_from(["proportional", "scheduled"])),
        "interval": "5m",
    }
    fee = draw(st.sampled_from([0.0, 0.001, 0.0075]))
    spec = parse_settings({"stake_currency": "USDT", "fee": fee, "smart_portfolio": section}).spec
    rules = {
        pair: MarketRules(
            min_notional=draw(st.sampled_from([0.0, 5.0, 10.0])),
            amount_step=draw(st.sampled_from([0.0, 1e-5, 0.001, 0.01])),
        )
        for pair in spec.pairs
    }
    base = {pair: draw(st.floats(0.5, 2000)) for pair in spec.pairs}
    steps = draw(st.integers(5, 40))
    path = draw(st.lists(
        st.fixed_dictionaries({pair: st.floats(0.85, 1.15) for pair in spec.pairs}), min_size=steps, max_size=steps))
    return spec, rules, base, path


def run(engine, base, path, start=0, check=None):
    """Drive the engine with immediate fills; ``check`` sees every decision and fill."""
    prices = dict(base)
    decisions = []
    for i, moves in enumerate(path):
        prices = {p: prices[p] * moves[p] for p in prices}
        now = 60.0 * (start + i)
        decision = engine.step(Snapshot(now, prices))
        decisions.append(decision)
        for order in decision.orders:
            before = portfolio_value(engine.holdings, prices, engine.cash)
            held, cash = engine.holdings.get(order.pair, 0.0), engine.cash
            fee = order.value * engine.spec.fee
            if check:
                check("order", engine, order, held, cash)
            engine.on_fill(Fill(order.id, order.amount, order.price, fee, now))
            after = portfolio_value(engine.holdings, prices, engine.cash)
            if check:
                check("fill", engine, order, before - after, fee)
        if check:
            check("tick", engine, decision, prices, None)
    return decisions


@SETTINGS
@given(portfolios())
def test_money_invariants(case):
    spec, rules, base, path = case
    engine = Engine(spec, rules)

    def check(kind, engine, a, b, c):
        if kind == "order":
            order, held, cash = a, b, c
            if order.side == "sell":
                assert order.amount <= held * (1 + 1e-12), "never sell more than held"
            else:
                assert order.value * (1 + spec.fee) <= cash * (1 + 1e-9) + 1e-9, "never spend more than the cash"
        elif kind == "fill":
            lost, fee = b, c
            assert abs(lost - fee) <= 1e-9 * max(1.0, engine.spec.investment), "value conserved minus fees"
        else:
            assert all(q >= 0 for q in engine.holdings.values()), "holdings never negative"
            assert engine.cash >= -1e-9 * spec.investment, "cash never negative"
            assert engine.fees_paid >= 0

    run(engine, base, path, check=check)


@SETTINGS
@given(portfolios())
def test_feasible_rebalance_at_fixed_prices_lands_inside_the_band(case):
    """With prices held still during the rebalance the result is inside the band, fees aside."""
    spec, rules, base, path = case
    engine = Engine(spec, rules)
    prices = dict(base)
    engine.step(Snapshot(0, prices))
    for o in engine.pending_orders():
        engine.on_fill(Fill(o.id, o.amount, o.price, o.value * spec.fee, 0))
    engine.step(Snapshot(60, prices))
    moved = {p: prices[p] * m for p, m in path[0].items()}
    t = 120.0
    for _ in range(4):  # sell phase, buy phase, finish
        d = engine.step(Snapshot(t, moved))
        for o in d.orders:
            engine.on_fill(Fill(o.id, o.amount, o.price, o.value * spec.fee, t))
        t += 60
    record = engine.records[-1]
    if record.kind != "rebalance" or record.skipped or record.status != "done":
        event("no feasible rebalance")
        return
    event("feasible rebalance checked")
    value = engine.value(moved)
    for pair, target in spec.weights.items():
        actual = engine.holdings.get(pair, 0.0) * moved[pair] / value
        step = rules.get(pair, MarketRules()).amount_step * moved[pair] / value  # orders are whole steps
        assert abs(actual - target) <= spec.band(pair) + 2 * spec.fee + step + 1e-6


@SETTINGS
@given(portfolios(), st.integers(0, 39))
def test_restored_state_behaves_exactly_like_the_original(case, cut):
    spec, rules, base, path = case
    cut = min(cut, len(path) - 1)
    original = Engine(spec, rules)
    run(original, base, path[:cut])
    prices = dict(base)
    for moves in path[:cut]:
        prices = {p: prices[p] * moves[p] for p in prices}
    restored = Engine.from_dict(json.loads(json.dumps(original.to_dict())))
    a = run(original, prices, path[cut:], start=cut)
    b = run(restored, prices, path[cut:], start=cut)
    assert a == b
    assert original.to_dict() == restored.to_dict()


json_values = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=True) | st.integers() | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(["assets", "investment", "mode", "threshold", "threshold_type",
                                        "check_interval", "interval", "min_trade", "take_profit", "stop_loss",
                                        "on_exit", "terminate", "other"]), json_values, max_size=8),
       json_values)
def test_validation_never_raises(section, stake):
    result = parse_settings({"smart_portfolio": section, "stake_currency": stake})
    assert result.ok or result.errors
    for problem in result.errors:
        assert str(problem)
