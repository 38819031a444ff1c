"""Rules that used to live in the adapter, now in the core (issue 9, section 2): order sizing for the host,
the minimum-investment check, the backtest conventions, and the explicit "a check ran" flag."""

from __future__ import annotations

from decimal import Decimal

import pytest
from ccxt.base.decimal_to_precision import TICK_SIZE, TRUNCATE, decimal_to_precision
from hypothesis import given
from hypothesis import strategies as st

from smartpf_core import MarketRules, Snapshot, investment_problems
from smartpf_core.conventions import FREQTRADE, BacktestConventions
from smartpf_core.sizing import entry_stake, exit_stake, is_full_exit
from tests.support.helpers import RULES, make_spec, started, tick

STEPS = [1e-8, 1e-5, 0.0001, 0.001, 0.01, 0.1, 1.0, 10.0]


def truncate(amount: float, step: float) -> float:
    """ccxt's amount_to_precision in TICK_SIZE mode, as Freqtrade applies it."""
    return float(decimal_to_precision(amount, TRUNCATE, step, TICK_SIZE))


@given(st.sampled_from(STEPS), st.integers(min_value=1, max_value=10**7),
       st.floats(min_value=1e-6, max_value=1e6, allow_nan=False, allow_infinity=False))
def test_an_entry_stake_buys_exactly_the_engines_amount(step, units, rate):
    amount = float(Decimal(units) * Decimal(repr(step)))
    stake = entry_stake(amount, rate)
    assert truncate(stake / rate, step) == amount  # Freqtrade: amount = stake / rate, truncated to the step


@given(st.sampled_from(STEPS), st.integers(min_value=2, max_value=10**7), st.data(),
       st.floats(min_value=1e-3, max_value=1e7, allow_nan=False, allow_infinity=False))
def test_a_partial_exit_stake_sells_exactly_the_engines_amount(step, held_units, data, stake_amount):
    sell_units = data.draw(st.integers(min_value=1, max_value=held_units - 1))
    held = float(Decimal(held_units) * Decimal(repr(step)))
    amount = float(Decimal(sell_units) * Decimal(repr(step)))
    stake = exit_stake(amount, held, stake_amount)
    assert -stake < stake_amount
    # Freqtrade: amount = |stake| x trade.amount / trade.stake_amount, truncated to the step
    assert truncate(abs(stake) * held / stake_amount, step) == amount


def test_full_exits():
    assert exit_stake(5.0, 5.0, 123.4) == -123.4
    assert exit_stake(4.9999999999, 5.0, 123.4) == -123.4  # all that is held, within rounding
    assert exit_stake(1.0, 5.0, 123.4, full=True) == -123.4
    assert not is_full_exit(4.0, 5.0, False)


def test_the_minimum_investment_is_one_check_with_its_level():
    prices = {"BTC/USDT": 30000.0, "ETH/USDT": 2000.0}
    low, problems = investment_problems(make_spec(investment=10), RULES, prices)
    assert [p.level for p in problems] == ["error"] and problems[0].key == "smart_portfolio.investment"
    assert f"{low.initial:.2f}" in problems[0].allowed
    middle = (low.initial + low.rebalance) / 2
    _, problems = investment_problems(make_spec(investment=middle), RULES, prices)
    assert [p.level for p in problems] == ["warning"] and "too small to trade" in problems[0].allowed
    _, problems = investment_problems(make_spec(investment=low.rebalance * 2), RULES, prices)
    assert problems == []


def test_backtest_conventions():
    assert FREQTRADE.first_trade_index == 1
    assert FREQTRADE.tradable(10.0) and FREQTRADE.tradable(10.0, 3.0)
    for price, volume in ((float("nan"), None), (0.0, None), (-1.0, None), (None, None), (10.0, 0.0)):
        assert not FREQTRADE.tradable(price, volume)
    assert BacktestConventions(min_volume=5).tradable(10.0, 5.0) is False


def test_a_decision_says_whether_a_check_ran():
    engine = started(make_spec(threshold=2))
    prices = {"BTC/USDT": 100.0, "ETH/USDT": 10.0}
    checked = engine.step(Snapshot(120.0, prices))  # a check boundary: below the threshold, but it ran
    assert checked.checked and checked.reason.code == "below_threshold"
    between = engine.step(Snapshot(130.0, prices))  # inside the same minute: no check
    assert not between.checked
    rebalance = tick(engine, 180.0, {"BTC/USDT": 120.0, "ETH/USDT": 10.0}, fill=False)
    assert rebalance.checked and rebalance.orders


def test_max_amount_is_part_of_the_rules():
    assert MarketRules(max_amount=3).floor_amount(10) == 3
    with pytest.raises(TypeError):
        MarketRules(1, 2, 3, 4, 5, 6)  # no silent extra fields
