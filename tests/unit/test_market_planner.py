"""Rounding, minimums and the sell/buy planners, with hand-computed numbers."""

from __future__ import annotations

import pytest

from smartpf_core import (
    MarketRules,
    Reserves,
    floor_to_step,
    min_order_value,
    min_position_value,
    plan_buys,
    plan_initial,
    plan_sells,
)

R = Reserves()
BTC = MarketRules(min_notional=5, min_amount=0.001, amount_step=0.001, price_tick=0.01)
ETH = MarketRules(min_notional=5, min_amount=0.0001, amount_step=0.0001, price_tick=0.01)
RULES = {"BTC/USDT": BTC, "ETH/USDT": ETH}
HALF = {"BTC/USDT": 0.5, "ETH/USDT": 0.5}


@pytest.mark.parametrize("amount, step, expected", [
    (0.123456, 0.001, 0.123), (0.3, 0.1, 0.3), (0.7, 0.1, 0.7), (2.9999999999, 1, 2.0), (3, 1, 3.0),
    (1.23456, 0, 1.23456), (-1, 0.1, 0.0), (0.00099, 0.001, 0.0), (0.29, 0.01, 0.29), (1e-5, 1e-5, 1e-5),
])
def test_floor_to_step(amount, step, expected):
    result = floor_to_step(amount, step)
    assert result == pytest.approx(expected, abs=1e-15)
    assert result <= max(amount, 0)


def test_minimums():
    assert min_order_value(BTC, 100, 5, R) == pytest.approx(5.25)  # 5 x 1.05
    assert min_order_value(BTC, 100, 10, R) == 10  # min_trade wins
    assert min_order_value(MarketRules(min_amount=1), 20, 0, R) == pytest.approx(21)  # 1 x 20 x 1.05
    assert min_position_value(BTC, 100, R) == pytest.approx(7.5)  # 5 x 1.5


def test_sell_over_target_rounded_down():
    # BTC 1 @ 600 = 600, ETH 4 @ 100 = 400: BTC is 100 over its 500 target -> 0.1666.. -> 0.166
    plan = plan_sells(HALF, {"BTC/USDT": 1.0, "ETH/USDT": 4.0}, {"BTC/USDT": 600, "ETH/USDT": 100}, 0.0,
                      RULES, 5, R)
    assert [(o.pair, o.side, o.amount) for o in plan.orders] == [("BTC/USDT", "sell", 0.166)]
    assert not plan.skipped


def test_buy_with_the_cash_the_sells_produced():
    cash = 0.166 * 600 * (1 - 0.001)  # 99.5004
    holdings = {"BTC/USDT": 0.834, "ETH/USDT": 4.0}
    plan = plan_buys(HALF, holdings, {"BTC/USDT": 600, "ETH/USDT": 100}, cash, RULES, 5, R, 0.001)
    # deficit 99.9502 costs 100.05 with the fee > 99.5004: scaled to 99.5004/1.001 = 99.401 -> 0.9940 ETH
    assert [(o.pair, o.side, o.amount) for o in plan.orders] == [("ETH/USDT", "buy", 0.994)]
    assert plan.orders[0].value * 1.001 <= cash


def test_small_difference_is_skipped_with_shortfall():
    # BTC 3 over target -> 3 USDT sell < 5.25 minimum
    plan = plan_sells(HALF, {"BTC/USDT": 0.503, "ETH/USDT": 4.97}, {"BTC/USDT": 1000, "ETH/USDT": 100}, 0.0,
                      RULES, 5, R)
    assert not plan.orders
    (skip,) = plan.skipped
    assert skip.pair == "BTC/USDT" and skip.value == pytest.approx(2.0, abs=1.01)
    assert skip.minimum == pytest.approx(5.25) and skip.shortfall == pytest.approx(5.25 - skip.value)
    assert "below the minimum 5.25" in skip.describe()


def test_sell_never_leaves_less_than_the_position_minimum():
    # ETH target 1 % of 1000 = 10, held 20: a 10 sell would leave 10 >= 7.5: fine
    weights = {"BTC/USDT": 0.99, "ETH/USDT": 0.01}
    plan = plan_sells(weights, {"BTC/USDT": 0.97, "ETH/USDT": 0.2}, {"BTC/USDT": 1000, "ETH/USDT": 100}, 10.0,
                      RULES, 5, R)
    assert [(o.pair, o.amount) for o in plan.orders] == [("ETH/USDT", 0.1)]
    # target 0.5 % = 5: selling down to 5 would leave less than 7.5; sell only to 7.5 -> 12.5 -> below 5.25? no: 12.5
    weights = {"BTC/USDT": 0.995, "ETH/USDT": 0.005}
    plan = plan_sells(weights, {"BTC/USDT": 0.97, "ETH/USDT": 0.2}, {"BTC/USDT": 1000, "ETH/USDT": 100}, 10.0,
                      RULES, 5, R)
    (order,) = plan.orders
    assert order.amount == pytest.approx(0.125)
    assert (0.2 - order.amount) * 100 >= 7.5


def test_removed_coin_is_sold_whole():
    plan = plan_sells({"BTC/USDT": 1.0}, {"BTC/USDT": 0.5, "ETH/USDT": 0.12345}, {"BTC/USDT": 1000, "ETH/USDT": 100},
                      0.0, RULES, 5, R)
    (order,) = plan.orders
    assert order.pair == "ETH/USDT" and order.full and order.amount == 0.12345


def test_never_sell_more_than_held_or_spend_more_than_cash():
    prices = {"BTC/USDT": 30000.0, "ETH/USDT": 2000.0}
    plan = plan_sells({}, {"BTC/USDT": 0.00123, "ETH/USDT": 0.5}, prices, 0, RULES, 0, R, sell_all=True)
    assert {o.pair: o.amount for o in plan.orders} == {"BTC/USDT": 0.00123, "ETH/USDT": 0.5}
    plan = plan_buys(HALF, {}, prices, 100.0, RULES, 5, R, 0.001)
    assert sum(o.value * 1.001 for o in plan.orders) <= 100.0


def test_spendable_caps_buys():
    plan = plan_buys(HALF, {}, {"BTC/USDT": 100, "ETH/USDT": 10}, 1000.0, RULES, 5, R, 0.0, spendable=20.0)
    assert sum(o.value for o in plan.orders) <= 20.0


def test_initial_purchase():
    plan = plan_initial(HALF, 1000, {"BTC/USDT": 100, "ETH/USDT": 10}, RULES, 5, R, 0.001, 1000)
    # 1000 / 1.001 = 999.000999: 499.50 per coin -> 4.995 BTC, 49.95 ETH
    assert {o.pair: o.amount for o in plan.orders} == {"BTC/USDT": 4.995, "ETH/USDT": 49.95}
    assert sum(o.value * 1.001 for o in plan.orders) <= 1000


def test_initial_purchase_skips_below_position_minimum():
    plan = plan_initial(HALF, 12, {"BTC/USDT": 100, "ETH/USDT": 10}, RULES, 5, R, 0.001, 12)
    assert not plan.orders
    assert {s.pair for s in plan.skipped} == {"BTC/USDT", "ETH/USDT"}
    assert all(s.minimum == pytest.approx(7.5) for s in plan.skipped)


def test_an_order_above_the_markets_maximum_quantity_is_cut_to_it():
    """Binance's ADA/USDT takes at most 900,000 ADA in one market order (MARKET_LOT_SIZE): a bigger buy is cut
    to the maximum, never sent as an order the exchange refuses; the rest follows at the next checks."""
    from smartpf_core import Engine, MarketRules, Snapshot
    from tests.support.helpers import make_spec

    spec = make_spec(assets={"ADA": 85, "BTC": 15}, investment=100_000)
    rules = {"ADA/USDT": MarketRules(5, 0.1, 0.1, 0.0001, max_amount=900_000),
             "BTC/USDT": MarketRules(5, 0.00001, 0.00001, 0.01)}
    engine = Engine(spec, rules)
    orders = {o.pair: o for o in engine.step(Snapshot(0, {"ADA/USDT": 0.05, "BTC/USDT": 30000.0})).orders}
    assert orders["ADA/USDT"].amount == 900_000
    assert MarketRules(max_amount=10, amount_step=0.3).floor_amount(50) == pytest.approx(9.9)
