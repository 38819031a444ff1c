"""The start decision, state versions and migrations, adoption: pure core rules."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smartpf_core import STATE_VERSION, Engine, PortfolioSpec, Snapshot
from smartpf_core.engine import migrate_state
from smartpf_core.startup import NEW, REFUSE, RESUME, TERMINATED, decide_start
from tests.support.helpers import RULES, make_spec, started, tick

PRICES = {"BTC/USDT": 100.0, "ETH/USDT": 10.0}


def test_no_portfolio_and_no_open_trade_is_a_new_portfolio():
    assert decide_start(None, {}).action == NEW


def test_open_trades_without_a_portfolio_are_refused_and_listed():
    decision = decide_start(None, {"BTC/USDT": 4.995, "ETH/USDT": 49.95})
    assert decision.action == REFUSE
    assert decision.differences == (
        "BTC/USDT: an open trade of 4.995 that no portfolio in this database holds",
        "ETH/USDT: an open trade of 49.95 that no portfolio in this database holds")


def test_a_portfolio_whose_trades_agree_is_resumed():
    engine = started()
    assert decide_start(engine, dict(engine.holdings)).action == RESUME


def test_a_portfolio_whose_open_trades_are_gone_is_refused():
    """A new database (dry-run -> live) or a deleted one: resuming would value holdings that are not there."""
    engine = started()
    decision = decide_start(engine, {})
    assert decision.action == REFUSE
    assert all("has no open trade for it" in d for d in decision.differences) and len(decision.differences) == 2


def test_a_coin_traded_that_the_portfolio_does_not_know_is_refused():
    engine = started()
    decision = decide_start(engine, {**engine.holdings, "SOL/USDT": 3.0})
    assert decision.action == REFUSE
    assert decision.differences == ("SOL/USDT: an open trade of 3 that the portfolio does not hold",)


def test_an_amount_that_differs_beyond_the_tolerance_is_refused_and_a_small_one_reconciled():
    engine = started()
    btc = engine.holdings["BTC/USDT"]
    doubled = {**engine.holdings, "BTC/USDT": btc * 2}
    assert decide_start(engine, doubled).action == REFUSE
    fee_in_coin = {**engine.holdings, "BTC/USDT": btc * 0.999}
    assert decide_start(engine, fee_in_coin).action == RESUME


def test_a_pending_order_explains_a_difference():
    """Killed after a sell filled and before the save: the database is ahead on that pair, which is fine."""
    engine = started()
    decision = tick(engine, 1000, {"BTC/USDT": 120.0, "ETH/USDT": 10.0}, fill=False)
    (sell,) = [o for o in decision.orders if o.side == "sell"]
    after = {**engine.holdings, sell.pair: engine.holdings[sell.pair] - sell.amount}
    assert decide_start(engine, after).action == RESUME


def test_a_terminated_portfolio_is_never_refused():
    engine = started()
    engine.update_spec(make_spec(terminate="keep"))
    tick(engine, 120, PRICES)
    assert engine.status == "terminated"
    assert decide_start(engine, {}).action == TERMINATED  # keep, then the trades deleted
    assert decide_start(engine, dict(engine.holdings)).action == TERMINATED


def test_restoring_settings_never_reruns_the_user_facing_validation():
    """A stricter rule tomorrow must not make today's state unreadable: a threshold of 0 would be refused
    by parse_settings, yet a persisted spec with it loads."""
    data = {**make_spec().to_dict(), "threshold": 0.0, "unknown_future_key": 1, "check_interval": "1m30s"}
    spec = PortfolioSpec.from_dict(data)
    assert spec.threshold == 0.0 and spec.check_interval == 90 and spec.investment == 1000


def test_version_1_state_migrates_and_a_newer_one_is_refused():
    engine = started()
    old = engine.to_dict()
    old.pop("portfolio_id")
    old["version"] = 1
    assert migrate_state(old)["version"] == STATE_VERSION
    assert Engine.from_dict(old).holdings == engine.holdings
    with pytest.raises(ValueError, match="newer smartpf"):
        migrate_state({**old, "version": STATE_VERSION + 1})
    for bad in (None, [], {"version": "1"}, {"version": True}, {"version": 0}):
        with pytest.raises(ValueError):
            migrate_state(bad)


def test_order_ids_carry_the_portfolio_id():
    engine = Engine(make_spec(), RULES, portfolio_id="p1")
    orders = engine.step(Snapshot(0, PRICES)).orders
    assert {o.id for o in orders} == {"init1:buy:BTC/USDT@p1", "init1:buy:ETH/USDT@p1"}
    restored = Engine.from_dict(json.loads(json.dumps(engine.to_dict())))
    assert restored.portfolio_id == "p1" and restored.pending_orders() == engine.pending_orders()


def test_adopt_makes_a_running_portfolio_of_existing_positions():
    spec = make_spec()
    engine = Engine.adopt(spec, {"BTC/USDT": 4.99, "ETH/USDT": 49.9, "SOL/USDT": 0.0}, 2.5, 500.0,
                          rules=RULES, portfolio_id="p9", seq=7)
    assert engine.status == "running" and engine.started_at == 500.0
    assert engine.holdings == {"BTC/USDT": 4.99, "ETH/USDT": 49.9} and engine.cash == 2.5
    assert engine.invested == 1000 and engine.seq == 8
    assert engine.hodl.value(PRICES) == pytest.approx(engine.value(PRICES))
    assert engine.records[0].kind == "adopt" and engine.records[0].finished_at == 500.0
    # balanced and within the band: the next check places no order
    decision = engine.step(Snapshot(560.0, PRICES))
    assert decision.orders == ()
    assert Engine.adopt(spec, {"BTC/USDT": 1.0}, -5.0, 0.0).cash == 0.0


@given(st.dictionaries(st.sampled_from(["BTC/USDT", "ETH/USDT", "SOL/USDT"]),
                       st.floats(min_value=0.0, max_value=1e6, allow_nan=False), max_size=3))
def test_the_start_decision_is_total_and_only_resumes_what_agrees(trades):
    engine = started()
    decision = decide_start(engine, trades)
    assert decision.action in (RESUME, REFUSE)
    if decision.action == RESUME:
        for pair, held in engine.holdings.items():
            assert trades.get(pair, 0.0) == pytest.approx(held, rel=0.011)
        assert all(p in engine.holdings for p, a in trades.items() if a > 0)
    assert decide_start(None, trades).action == (NEW if not any(a > 0 for a in trades.values()) else REFUSE)
