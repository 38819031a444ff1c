"""Property: on each of twelve exchanges, for random baskets of its active spot USDT markets, every
order the engine emits (the initial purchase and the rebalances after price moves) is sendable there:
ccxt's own precision functions leave it unchanged and it clears every limit the market states."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from smartpf_core import Engine, Snapshot, minimum_investment
from tests.support.exchanges import EXCHANGES, REFERENCE_PRICES, active_pairs, basket_spec, markets, on_tick, problems
from tests.support.helpers import fill_all

MAX_INVESTMENT = 200_000.0  # below every stated cost/amount maximum here (smallest: bybit LTC/USDT 600 000 USDT)


@st.composite
def baskets(draw, name):
    pairs = active_pairs(name)
    n = draw(st.integers(2, min(4, len(pairs))))
    chosen = draw(st.lists(st.sampled_from(pairs), min_size=n, max_size=n, unique=True))
    cuts = sorted(draw(st.lists(st.integers(1, 19), min_size=n - 1, max_size=n - 1, unique=True)))
    percents = {p: (b - a) * 5 for p, a, b in zip(chosen, [0, *cuts], [*cuts, 20], strict=True)}
    rules = {p: markets(name).rules[p] for p in chosen}
    prices = {p: on_tick(REFERENCE_PRICES[p.split("/")[0]] * draw(st.floats(0.25, 4.0)), rules[p].price_tick)
              for p in chosen}
    fee = draw(st.sampled_from([0.0, 0.001, 0.0026]))
    min_trade = draw(st.sampled_from([0.0, 5.0, 10.0]))
    least = minimum_investment(basket_spec(percents, 1000, fee, min_trade=min_trade), rules, prices).initial
    investment = draw(st.floats(least, MAX_INVESTMENT)) if least < MAX_INVESTMENT else MAX_INVESTMENT
    moves = draw(st.lists(st.fixed_dictionaries({p: st.floats(0.5, 2.0) for p in chosen}), min_size=1, max_size=3))
    return name, basket_spec(percents, investment, fee, min_trade=min_trade), rules, prices, moves


@pytest.mark.parametrize("exchange_name", EXCHANGES)
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_initial_and_rebalance_orders_are_sendable(exchange_name, data):
    name, spec, rules, prices, moves = data.draw(baskets(exchange_name))
    engine = Engine(spec, rules)
    now, ops = 0.0, []
    for move in [{}, *moves]:
        prices = {p: on_tick(prices[p] * move.get(p, 1.0), rules[p].price_tick) for p in prices}
        for _ in range(3):  # the sells, the buys they fund, then quiet
            decision = engine.step(Snapshot(now, prices))
            for order in decision.orders:
                assert order.price == prices[order.pair]
                assert problems(name, order.pair, order.side, order.amount, order.price) == [], (name, order)
                event(f"{order.side} order")
            if decision.orders:
                ops.append({o.pair for o in decision.orders})
            fill_all(engine, decision, prices, now)
            now += 60.0
    assert ops and ops[0] == set(spec.pairs), "at or above the minimum investment every coin is bought"
    event(f"{len(spec.pairs)} coins")
    if len(ops) > 1:
        event("rebalanced")
