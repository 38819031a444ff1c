"""The engine's rules, tick by tick, with hand-computed numbers."""

from __future__ import annotations

import json

import pytest

from smartpf_core import Engine, Fill, Snapshot
from smartpf_core import events as ev
from tests.support.helpers import RULES, fill_all, make_spec, started, tick

P0 = {"BTC/USDT": 100.0, "ETH/USDT": 10.0}


def test_initial_purchase_buys_every_coin_at_its_weight():
    engine = Engine(make_spec(), RULES)
    decision = engine.step(Snapshot(0, P0))
    assert {o.id: o.amount for o in decision.orders} == {"init1:buy:BTC/USDT": 4.995, "init1:buy:ETH/USDT": 49.95}
    assert decision.notices[0].kind == "started"
    fill_all(engine, decision, P0)
    assert engine.cash == pytest.approx(1000 - 999.0 * 1.001)
    assert engine.hodl.holdings == engine.holdings
    decision = engine.step(Snapshot(60, P0))
    assert engine.status == "running" and decision.notices[0].kind == "initial_finished"
    assert engine.rebalances == 0 and engine.orders_filled == 2


def test_no_trade_on_missing_stale_or_bad_price():
    engine = Engine(make_spec(), RULES)
    d = engine.step(Snapshot(0, {"BTC/USDT": 100.0}))
    assert not d.orders and d.reason.code == ev.MISSING_PRICE and d.reason.details["pairs"] == ["ETH/USDT"]
    for bad in (0.0, -1.0, float("nan"), float("inf")):
        d = engine.step(Snapshot(0, {"BTC/USDT": 100.0, "ETH/USDT": bad}))
        assert not d.orders and d.reason.code == ev.MISSING_PRICE
    d = engine.step(Snapshot(0, P0, stale=frozenset({"BTC/USDT"})))
    assert not d.orders and d.reason.code == ev.STALE_PRICE
    # older than twice check_interval (2 x 60 s)
    d = engine.step(Snapshot(1000, P0, price_times={"BTC/USDT": 1000, "ETH/USDT": 879}))
    assert not d.orders and d.reason.code == ev.STALE_PRICE and d.reason.details["pairs"] == ["ETH/USDT"]
    d = engine.step(Snapshot(1000, P0, price_times={"BTC/USDT": 1000, "ETH/USDT": 881}))
    assert d.orders
    assert engine.status == "new" or engine.op is not None


def test_below_threshold_reports_the_largest_deviation():
    engine = started()
    # BTC +1 %: weights 50.25 / 49.75 -> deviation 0.25 points < 1
    d = tick(engine, 120, {"BTC/USDT": 101.0, "ETH/USDT": 10.0})
    assert not d.orders and d.reason.code == ev.BELOW_THRESHOLD
    assert d.reason.details["pair"] in ("BTC/USDT", "ETH/USDT")
    assert d.reason.details["deviation"] == pytest.approx(0.249, abs=0.01) or \
        d.reason.details["deviation"] == pytest.approx(-0.249, abs=0.01)
    assert "absolute" in d.reason.message


def test_two_phase_rebalance_sells_then_buys_with_net_proceeds():
    engine = started()
    prices = {"BTC/USDT": 120.0, "ETH/USDT": 10.0}
    value_before = engine.value(prices)
    d1 = tick(engine, 120, prices)
    assert [o.side for o in d1.orders] == ["sell"] and d1.orders[0].pair == "BTC/USDT"
    assert d1.notices[0].kind == "rebalance_started" and engine.rebalances == 1
    # BTC 4.995 @ 120 = 599.4; ETH 49.95 @ 10 = 499.5; cash 0.001; V = 1098.901; BTC target 549.4505:
    # sell 49.9495 / 120 = 0.416246 -> 0.41624 (step 0.00001)
    assert d1.orders[0].amount == pytest.approx(0.41624, abs=1e-9)
    cash_after_sell = engine.cash
    d2 = tick(engine, 180, prices)
    assert [o.side for o in d2.orders] == ["buy"] and d2.orders[0].pair == "ETH/USDT"
    assert d2.orders[0].value * 1.001 <= cash_after_sell
    d3 = tick(engine, 240, prices)
    assert d3.notices and d3.notices[0].kind == "rebalance_finished"
    fees = sum(t.fee for t in engine.records[-1].trades)
    assert engine.value(prices) == pytest.approx(value_before - fees, rel=1e-12)
    weights = {p: engine.holdings[p] * prices[p] / engine.value(prices) for p in prices}
    assert all(abs(w - 0.5) < 0.01 for w in weights.values())
    assert engine.rebalances == 1  # a two-phase rebalance counts once
    record = engine.records[-1]
    assert record.kind == "rebalance" and record.trigger == "threshold" and record.status == "done"
    assert [(t.side, t.pair) for t in record.trades] == [("sell", "BTC/USDT"), ("buy", "ETH/USDT")]


def test_orders_are_reemitted_until_placed_and_never_started_twice():
    engine = started()
    prices = {"BTC/USDT": 120.0, "ETH/USDT": 10.0}
    d1 = tick(engine, 120, prices, fill=False)
    d2 = tick(engine, 125, prices, fill=False)
    assert [o.id for o in d1.orders] == [o.id for o in d2.orders]  # same identity, not a new rebalance
    assert d2.reason.code == ev.IN_PROGRESS and engine.rebalances == 1
    assert engine.order_placed(d1.orders[0].id)
    d3 = tick(engine, 130, prices, fill=False)
    assert not d3.orders and d3.reason.code == ev.ORDER_OPEN
    order = d1.orders[0]
    assert engine.on_fill(Fill(order.id, order.amount, 120.0, order.amount * 0.12, 131))
    assert not engine.on_fill(Fill(order.id, order.amount, 120.0, 0, 131))  # a second report is ignored
    d4 = tick(engine, 140, prices)
    assert d4.orders and d4.orders[0].side == "buy"


def test_cancelled_order_books_its_partial_fill_and_moves_on():
    engine = started()
    prices = {"BTC/USDT": 120.0, "ETH/USDT": 10.0}
    (order,) = tick(engine, 120, prices, fill=False).orders
    held = engine.holdings["BTC/USDT"]
    engine.order_closed(order.id, Fill(order.id, 0.2, 120.0, 0.024, 121))
    assert engine.holdings["BTC/USDT"] == pytest.approx(held - 0.2)
    d = tick(engine, 180, prices)
    assert d.orders and d.orders[0].side == "buy"


def test_foreign_open_order_blocks_a_new_rebalance():
    engine = started()
    d = tick(engine, 120, {"BTC/USDT": 120.0, "ETH/USDT": 10.0}, open_orders=frozenset({"ETH/USDT"}))
    assert not d.orders and d.reason.code == ev.ORDER_OPEN and d.reason.details["pairs"] == ["ETH/USDT"]


def test_proportional_checks_once_per_check_interval():
    engine = started(make_spec(check_interval="5m"), now=0)
    d = tick(engine, 130, P0)  # the first check after the start
    assert d.reason.code == ev.BELOW_THRESHOLD
    d = tick(engine, 200, {"BTC/USDT": 120.0, "ETH/USDT": 10.0})  # not yet at the 300 s boundary
    assert not d.orders and d.reason.code == ev.BELOW_THRESHOLD  # the last check's finding, still true
    assert d.reason.details["seconds_to_next_check"] == pytest.approx(100)
    d = tick(engine, 300, {"BTC/USDT": 120.0, "ETH/USDT": 10.0})
    assert d.orders


def test_relative_threshold():
    spec = make_spec(assets={"BTC": 80, "ETH": 20}, threshold=10, threshold_type="relative")
    engine = started(spec)
    # ETH -8 %: ETH weight 0.2*0.92/(0.8+0.184) = 18.70 % -> -6.5 % of target: within 10 %
    d = tick(engine, 120, {"BTC/USDT": 100.0, "ETH/USDT": 9.2})
    assert d.reason.code == ev.BELOW_THRESHOLD and "relative" in d.reason.message
    # ETH -15 %: 0.17/0.97 = 17.53 % -> -12.4 % of target: beyond
    d = tick(engine, 180, {"BTC/USDT": 100.0, "ETH/USDT": 8.5})
    assert d.orders and d.orders[0].pair == "BTC/USDT" and d.orders[0].side == "sell"


def test_scheduled_mode_counts_from_start_and_collapses_missed_boundaries():
    spec = make_spec(mode="scheduled", interval="1h", price_guard=None)  # the jumps here are real
    engine = started(spec, now=1000)  # started at 1000
    prices = {"BTC/USDT": 101.0, "ETH/USDT": 10.0}
    d = tick(engine, 1000 + 3599, prices)
    assert d.reason.code == ev.NOT_SCHEDULED and d.reason.details["seconds_to_next"] == pytest.approx(1)
    d = tick(engine, 1000 + 3600, prices)  # due: small drift, order of ~2.5 USDT is too small
    assert not d.orders and d.reason.code == ev.ORDERS_TOO_SMALL
    assert d.reason.details["skipped"][0]["shortfall"] > 0
    # a 5-hour gap: one check, not five
    big = {"BTC/USDT": 130.0, "ETH/USDT": 10.0}
    d = tick(engine, 1000 + 5 * 3600 + 10, big)
    assert d.orders and engine.rebalances == 1
    tick(engine, 1000 + 5 * 3600 + 20, big)
    d = tick(engine, 1000 + 5 * 3600 + 30, big)
    assert d.notices[0].kind == "rebalance_finished"
    d = tick(engine, 1000 + 5 * 3600 + 40, {"BTC/USDT": 160.0, "ETH/USDT": 10.0})
    assert not d.orders and d.reason.code == ev.NOT_SCHEDULED and engine.rebalances == 1
    assert engine.records[-1].trigger == "schedule"


@pytest.mark.parametrize("on_exit", ["sell", "keep"])
def test_take_profit_terminates(on_exit):
    engine = started(make_spec(take_profit=10, on_exit=on_exit))
    d = tick(engine, 120, {"BTC/USDT": 109.0, "ETH/USDT": 10.9})  # +8.8 %: not yet
    assert not d.orders or d.orders[0].side != "sell" or not d.orders[0].full
    up = {"BTC/USDT": 112.0, "ETH/USDT": 11.2}  # +11.9 %
    held = dict(engine.holdings)
    d = tick(engine, 180, up)
    if on_exit == "sell":
        assert {o.pair for o in d.orders} == {"BTC/USDT", "ETH/USDT"} and all(o.full for o in d.orders)
        d = tick(engine, 240, up)
        assert engine.holdings == {"BTC/USDT": 0.0, "ETH/USDT": 0.0}
    else:
        assert not d.orders and engine.holdings == held
    assert engine.status == "terminated" and d.notices[-1].kind == "terminated"
    assert engine.termination["trigger"] == "take_profit" and engine.termination["how"] == on_exit
    for t, p in ((300, {"BTC/USDT": 50.0, "ETH/USDT": 20.0}), (360, up)):
        d = tick(engine, t, p)
        assert not d.orders and d.reason.code == ev.TERMINATED


def test_stop_loss_on_portfolio_profit_rate():
    engine = started(make_spec(stop_loss=20))
    d = tick(engine, 120, {"BTC/USDT": 81.0, "ETH/USDT": 8.1})  # -19.1 %
    assert engine.status == "running"
    d = tick(engine, 180, {"BTC/USDT": 79.0, "ETH/USDT": 7.9})  # -21 %
    assert all(o.full and o.side == "sell" for o in d.orders) and len(d.orders) == 2
    assert engine.termination["trigger"] == "stop_loss"


def test_user_terminate_keep_via_settings_change():
    engine = started()
    ok, _ = engine.update_spec(make_spec(terminate="keep"))
    assert ok
    held = dict(engine.holdings)
    d = tick(engine, 120, {"BTC/USDT": 120.0, "ETH/USDT": 10.0})
    assert not d.orders and engine.status == "terminated" and engine.holdings == held


def test_raising_investment_buys_the_difference_without_sells():
    engine = started()
    prices = {"BTC/USDT": 110.0, "ETH/USDT": 10.0}  # BTC slightly over target
    hodl_before = engine.hodl.value(prices)
    ok, notices = engine.update_spec(make_spec(investment=1500))
    assert ok and notices[0].kind == "investment_changed"
    d = tick(engine, 120, prices)
    assert d.orders and all(o.side == "buy" for o in d.orders)
    assert engine.invested == 1500
    assert engine.hodl.value(prices) == pytest.approx(hodl_before + 500 / 1.001, rel=1e-9)
    buys = {o.pair: o.value for o in d.orders}
    assert buys["ETH/USDT"] > buys.get("BTC/USDT", 0)  # the under-weighted coin first
    assert engine.cash >= 0 and engine.cash < 5
    d = tick(engine, 180, prices)
    assert d.notices[0].kind == "deposit_finished" and engine.rebalances == 0
    d = tick(engine, 240, prices)
    assert not d.orders  # the difference is added once


def test_lowering_investment_withdraws_cash_then_sells():
    engine = started()
    engine.ledger.cash += 100  # idle cash (e.g. left by an earlier rebalance)
    engine.ledger.invested += 100
    engine.update_spec(make_spec(investment=1100))
    engine.update_spec(make_spec(investment=700))
    prices = P0
    d = tick(engine, 120, prices)
    assert all(o.side == "sell" for o in d.orders) and len(d.orders) == 2
    tick(engine, 180, prices)
    assert engine.withdrawn == pytest.approx(400, abs=0.01)  # exact up to the step rounding
    assert engine.invested == 700 and engine.pending_withdrawal == 0
    fees = sum(t.fee for t in engine.records[-1].trades)
    assert engine.value(prices) == pytest.approx(999 + 100.001 - engine.withdrawn - fees, abs=1e-6)


def test_new_weights_and_a_coin_added_and_removed():
    engine = started()
    prices = {"BTC/USDT": 100.0, "ETH/USDT": 10.0, "SOL/USDT": 20.0}
    engine.update_spec(make_spec(assets={"BTC": 50, "SOL": 50}))
    d = tick(engine, 120, prices)
    assert [(o.pair, o.side, o.full) for o in d.orders] == [("ETH/USDT", "sell", True)]
    assert engine.records[-1].trigger == "targets_changed"
    d = tick(engine, 180, prices)
    assert [(o.pair, o.side) for o in d.orders] == [("SOL/USDT", "buy")]
    tick(engine, 240, prices)
    assert engine.holdings["ETH/USDT"] == 0.0
    assert engine.holdings["SOL/USDT"] * 20 == pytest.approx(499, rel=0.01)


def test_stake_currency_change_is_rejected():
    engine = started()
    spec = make_spec()
    other = type(spec)(**{**{k: getattr(spec, k) for k in (
        "allocations", "investment", "mode", "threshold", "threshold_type", "check_interval", "interval",
        "min_trade", "take_profit", "stop_loss", "on_exit", "terminate", "fee")}, "stake_currency": "USDC"})
    ok, notices = engine.update_spec(other)
    assert not ok and notices[0].kind == "rejected" and engine.spec == spec


def test_host_holdings_are_the_truth():
    engine = started()
    tick(engine, 120, P0, holdings={"BTC/USDT": 4.9, "ETH/USDT": 49.95})
    assert engine.holdings["BTC/USDT"] == 4.9


def test_state_round_trip_in_the_middle_of_a_rebalance():
    engine = started()
    prices = {"BTC/USDT": 120.0, "ETH/USDT": 10.0}
    tick(engine, 120, prices)  # sell phase filled, buy phase next
    data = json.loads(json.dumps(engine.to_dict()))
    restored = Engine.from_dict(data)
    assert restored.to_dict() == engine.to_dict()
    a, b = tick(engine, 180, prices), tick(restored, 180, prices)
    assert a == b and a.orders and a.orders[0].side == "buy"
    assert restored.to_dict() == engine.to_dict()


def test_restore_rejects_unknown_version():
    with pytest.raises(ValueError, match="version"):
        Engine.from_dict({"version": 99})


def test_details_show_actual_vs_target_and_hodl():
    engine = started()
    details = engine.details({"BTC/USDT": 110.0, "ETH/USDT": 10.0})
    btc = next(c for c in details["coins"] if c["pair"] == "BTC/USDT")
    assert btc["target_pct"] == 50 and btc["actual_pct"] == pytest.approx(52.38, abs=0.01)
    assert details["hodl_value"] == pytest.approx(details["value"])
    assert "absolute" in details["threshold"]


def test_an_operation_whose_record_was_lost_finishes_without_raising():
    """Issue 18 item 3: a state with an operation under way but no records (an imported version-1 file) used to
    raise IndexError in _finish_op on every loop. The record comes back, started with the portfolio."""
    engine = Engine(make_spec(), RULES, portfolio_id="p")
    orders = engine.step(Snapshot(1000, {"BTC/USDT": 100.0, "ETH/USDT": 10.0})).orders
    data = engine.to_dict()
    data["records"] = []
    restored = Engine.from_dict(data)
    for o in orders:
        restored.on_fill(Fill(o.id, o.amount, o.price, 0.0, 1001))
    decision = restored.step(Snapshot(1060, {"BTC/USDT": 100.0, "ETH/USDT": 10.0}))
    assert restored.status == "running" and restored.op is None and decision.orders == ()
    (record,) = restored.records
    assert record.id == "init1" and record.finished_at == 1060 and len(record.trades) == 2
    again = Engine.from_dict(data)  # a host matches orders placed since: never later than the real start
    assert again.operation_started_at() == 1000 and Engine(make_spec(), RULES).operation_started_at() is None
