"""The Freqtrade glue without Freqtrade running: settings checks, state file, rules, reconciliation."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from smartpf.freqtrade.config import freqtrade_config
from smartpf.freqtrade.markets import rules_from_ccxt_market
from smartpf.freqtrade.reconcile import ENTRY_TAG, reconcile
from smartpf.freqtrade.statefile import export_path, legacy_path, read_state, write_state
from smartpf.freqtrade.summary import CandleCloses
from smartpf_core import Engine, Fill, Snapshot, check_config
from tests.support.helpers import RULES, make_spec

SECTION = {"assets": {"BTC": 50, "ETH": 50}, "investment": 1000}


def good_config(**changes):
    config = freqtrade_config(dict(SECTION))
    config.update(changes)
    return config


def problems(config):
    return [str(p) for p in check_config(config).errors]


def test_generated_config_passes():
    assert problems(good_config()) == []


@pytest.mark.parametrize("changes, fragment", [
    ({"stoploss": -0.1}, "stoploss = -0.1"),
    ({"minimal_roi": {"0": 0.05}}, "minimal_roi"),
    ({"trailing_stop": True}, "trailing_stop"),
    ({"position_adjustment_enable": False}, "position_adjustment_enable = false"),
    ({"max_entry_position_adjustment": 3}, "max_entry_position_adjustment = 3"),
    ({"max_open_trades": 1}, "max_open_trades = 1"),
    ({"protections": [{"method": "CooldownPeriod"}]}, "protections"),
    ({"pairlists": [{"method": "VolumePairList"}]}, "pairlists"),
    ({"trading_mode": "futures"}, "trading_mode"),
    ({"order_types": {"entry": "limit", "exit": "market"}}, "order_types.entry = 'limit'"),
])
def test_conflicting_freqtrade_settings_are_refused(changes, fragment):
    found = problems(good_config(**changes))
    assert any(fragment in p for p in found), found


def test_whitelist_must_be_exactly_the_assets():
    config = good_config()
    config["exchange"]["pair_whitelist"] = ["BTC/USDT", "SOL/USDT"]
    (problem,) = problems(config)
    assert "not in assets: SOL/USDT" in problem and "missing: ETH/USDT" in problem


def test_export_is_per_portfolio_and_atomic(tmp_path):
    a, b = export_path(tmp_path, "abc123"), export_path(tmp_path, "def456")
    assert a != b and a.parent == tmp_path / "smartpf" and a.name == "portfolio-abc123.json"
    assert legacy_path(tmp_path, "bot one").name == "bot_one.json"
    write_state(a, {"x": 1})
    write_state(a, {"x": 2})
    assert read_state(a) == {"x": 2} and read_state(b) is None
    assert [p.name for p in a.parent.iterdir()] == ["portfolio-abc123.json"]  # no temp file left behind


def test_rules_from_ccxt_market():
    market = {"limits": {"cost": {"min": 5.0}, "amount": {"min": 0.0001}},
              "precision": {"amount": 0.0001, "price": 0.01}}
    rules = rules_from_ccxt_market(market)
    assert (rules.min_notional, rules.min_amount, rules.amount_step, rules.price_tick) == (5.0, 0.0001, 0.0001, 0.01)


def ft_order(side, tag, status="closed", filled=1.0, price=100.0, when=125.0):
    return SimpleNamespace(ft_order_side=side, ft_order_tag=tag, status=status, safe_filled=filled,
                           safe_price=price, order_date=datetime.fromtimestamp(when, UTC), order_filled_date=None)


def ft_trade(*orders, fee=0.001):
    return SimpleNamespace(orders=list(orders), entry_side="buy", fee_open=fee, fee_close=fee)


def rebalancing_engine():
    engine = Engine(make_spec(price_guard=None), RULES)  # BTC +30 % below is real, not a wick
    for d in (engine.step(Snapshot(0, {"BTC/USDT": 100.0, "ETH/USDT": 10.0})),):
        for o in d.orders:
            engine.on_fill(Fill(o.id, o.amount, o.price, 0.0, 0))
    engine.step(Snapshot(60, {"BTC/USDT": 100.0, "ETH/USDT": 10.0}))
    (sell,) = engine.step(Snapshot(120, {"BTC/USDT": 130.0, "ETH/USDT": 10.0})).orders
    return engine, sell


def test_a_fill_the_state_file_missed_is_booked_once_from_the_database():
    engine, sell = rebalancing_engine()
    restored = Engine.from_dict(json.loads(json.dumps(engine.to_dict())))  # saved before the fill
    trades = {"BTC/USDT": [ft_trade(ft_order("sell", sell.id, filled=sell.amount, price=130.0))]}
    cash = restored.cash
    lines = reconcile(restored, trades, 130, 120)
    assert "booked fill" in lines[0]
    assert restored.order_status(sell.id) is None or restored.pending_orders() == []
    assert restored.cash == pytest.approx(cash + sell.amount * 130 * 0.999)
    assert reconcile(restored, trades, 131, 120) == []  # never twice
    decision = restored.step(Snapshot(180, {"BTC/USDT": 130.0, "ETH/USDT": 10.0}))
    assert [o.side for o in decision.orders] == ["buy"]  # moves on to the buy phase, no second sell


def test_an_order_freqtrade_did_not_place_is_closed_not_awaited():
    engine, sell = rebalancing_engine()
    engine.order_placed(sell.id)
    lines = reconcile(engine, {"BTC/USDT": [ft_trade()]}, 130, 120)
    assert "did not place" in lines[0] and engine.pending_orders() == []


def test_a_planned_order_not_in_the_database_is_placed_again():
    engine, sell = rebalancing_engine()
    assert reconcile(engine, {"BTC/USDT": [ft_trade()]}, 130, 120) == []
    assert engine.step(Snapshot(125, {"BTC/USDT": 130.0, "ETH/USDT": 10.0})).orders[0].id == sell.id


def test_open_and_cancelled_orders():
    engine, sell = rebalancing_engine()
    trades = {"BTC/USDT": [ft_trade(ft_order("sell", sell.id, status="open", filled=0.0))]}
    reconcile(engine, trades, 130, 120)
    assert engine.order_status(sell.id) == "open"
    trades = {"BTC/USDT": [ft_trade(ft_order("sell", sell.id, status="canceled", filled=0.1, price=130.0))]}
    held = engine.holdings["BTC/USDT"]
    reconcile(engine, trades, 131, 120)
    assert engine.pending_orders() == [] and engine.holdings["BTC/USDT"] == pytest.approx(held - 0.1)


def test_initial_entries_are_matched_by_entry_tag_and_time():
    engine = Engine(make_spec(), RULES)
    orders = engine.step(Snapshot(1000, {"BTC/USDT": 100.0, "ETH/USDT": 10.0})).orders
    old = ft_order("buy", ENTRY_TAG, when=10)  # an entry from before this operation: not ours
    trades = {"BTC/USDT": [ft_trade(old)], "ETH/USDT": [ft_trade(ft_order("buy", ENTRY_TAG, filled=49.95,
                                                                            price=10.0, when=1001))]}
    reconcile(engine, trades, 1002, 1000)
    statuses = {o.pair: engine.order_status(o.id) for o in orders}
    assert statuses == {"BTC/USDT": "planned", "ETH/USDT": "filled"} or statuses["ETH/USDT"] is None


def test_candle_closes_value_the_portfolio_like_the_simulator():
    engine = Engine(make_spec(), RULES)
    closes = {"BTC/USDT": {0: 100.0, 60: 50.0, 120: 100.0}, "ETH/USDT": {0: 10.0, 60: 10.0, 120: 10.0}}
    candles = CandleCloses(closes)
    candles.candle_opened(engine, 0)
    for o in engine.step(Snapshot(60, {"BTC/USDT": 100.0, "ETH/USDT": 10.0})).orders:
        engine.on_fill(Fill(o.id, o.amount, o.price, 0.0, 60))
    candles.candle_opened(engine, 60)  # candle 0 closed: nothing bought yet -> the investment
    assert candles.tracker.value == 1000
    candles.candle_opened(engine, 120)  # candle 60 closed at BTC 50: ~750
    assert candles.tracker.value == pytest.approx(750, abs=2)
    candles.close(engine, 120)  # the last candle, closed at the end of the run
    assert candles.tracker.max_drawdown == pytest.approx(0.25, abs=0.01)
    assert candles.tracker.value == pytest.approx(1000, abs=2)


def test_crash_point_is_inert_unless_armed(monkeypatch):
    from tests.support.crash import maybe_crash

    engine, _ = rebalancing_engine()
    monkeypatch.delenv("SMARTPF_CRASH_POINT", raising=False)
    maybe_crash(engine)  # nothing happens
    assert os.getpid()



def mid_purchase_state(portfolio_id: str = "old") -> dict:
    """A state saved between the initial purchase's fills and the next loop, then stripped of its records (a
    version-1 file as imported): the operation under way has no record."""
    engine = Engine(make_spec(), RULES, portfolio_id=portfolio_id)
    engine.step(Snapshot(1000, {"BTC/USDT": 100.0, "ETH/USDT": 10.0}))
    data = engine.to_dict()
    data["records"] = []
    return data


@pytest.mark.parametrize("status", ["planned", "open"])
def test_an_imported_purchase_is_booked_from_its_own_entry_tags_once_never_bought_again(status):
    """Issue 18 item 3: the import gives the portfolio a new id, but its orders were placed under the old one's
    entry tag (or 0.1's plain tag): they are found, booked once, and nothing is ordered again; finishing the
    operation without its record never raises."""
    for old, tag in (("old", f"{ENTRY_TAG}@old"), ("", ENTRY_TAG)):
        data = mid_purchase_state(old)
        for o in data["op"]["orders"]:
            o["status"] = status
        engine = Engine.from_dict(data)
        engine.identify("new")  # what the import does
        orders = engine.pending_orders()
        trades = {o.pair: [ft_trade(ft_order("buy", tag, filled=o.amount, price=o.price, when=1001))]
                  for o in orders}
        lines = reconcile(engine, trades, 1010, 0.0)  # no record: the host looks back to the start
        assert len(lines) == 2 and all("booked fill" in line for line in lines), lines
        assert reconcile(engine, trades, 1011, 0.0) == []  # never twice
        decision = engine.step(Snapshot(1020, {"BTC/USDT": 100.0, "ETH/USDT": 10.0},
                                        holdings={o.pair: o.amount for o in orders}))
        assert decision.orders == () and engine.status == "running" and engine.op is None
        assert [r.id for r in engine.records] == ["init1"] and len(engine.records[0].trades) == 2
        assert engine.cash == pytest.approx(1000 - sum(o.amount * o.price * 1.001 for o in orders))
