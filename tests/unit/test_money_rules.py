"""Rules that cost money (issue 8): no coin traded both ways, cash only to orders sent, the trigger on the
tick an operation completes, the wick guard, ledgers that add up, and orders that do not depend on hash order."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from smartpf_core import Engine, MarketRules, Reserves, plan_buys
from smartpf_core import events as ev
from tests.support.helpers import make_spec, started, tick

STEP_RULES = {f"{c}/USDT": MarketRules(min_notional=5, amount_step=0.0001) for c in ("AAA", "BBB", "CCC", "DDD")}
FOUR = {"AAA": 25, "BBB": 25, "CCC": 25, "DDD": 25}
FLAT4 = {f"{c}/USDT": 100.0 for c in FOUR}


def four_coins(**section):
    engine = Engine(make_spec(**{"assets": FOUR, "investment": 10000, "threshold": 5, **section}), STEP_RULES)
    tick(engine, 0, FLAT4)
    tick(engine, 60, FLAT4)
    assert engine.status == "running"
    return engine


# ---------------------------------------------------------------- 1. never both ways
def test_a_rebalance_never_buys_back_a_coin_it_sold():
    engine = four_coins(threshold=3)
    up = {**FLAT4, "AAA/USDT": 124.0}  # AAA at 29.2 %: sell AAA
    d = tick(engine, 120, up)
    assert [(o.pair, o.side) for o in d.orders] == [("AAA/USDT", "sell")]
    # one candle later AAA has fallen below its target at the new prices: it must not be bought back
    down = {**FLAT4, "AAA/USDT": 100.0}
    d = tick(engine, 180, down)
    assert d.orders and all(o.side == "buy" for o in d.orders)
    assert "AAA/USDT" not in {o.pair for o in d.orders}
    sides: dict[str, set] = {}
    for trade in engine.records[-1].trades:
        sides.setdefault(trade.pair, set()).add(trade.side)
    assert all(len(s) == 1 for s in sides.values()), sides


def test_cash_is_shared_only_among_orders_that_are_sent():
    """A deficit too small to send gives up its share: the real buys are not scaled down while cash idles."""
    rules = {p: MarketRules(min_notional=5, amount_step=0.0001) for p in ("AAA/USDT", "BBB/USDT", "CCC/USDT")}
    targets = {"AAA/USDT": 0.3, "BBB/USDT": 0.3, "CCC/USDT": 0.2, "DDD/USDT": 0.2}
    rules["DDD/USDT"] = rules["AAA/USDT"]
    prices = dict.fromkeys(targets, 1.0)
    # value 1000 (cash 100): deficits AAA 80, BBB 40, CCC 3 (too small), DDD 23 over; cash 100 cannot fill 123
    holdings = {"AAA/USDT": 220.0, "BBB/USDT": 260.0, "CCC/USDT": 197.0, "DDD/USDT": 223.0}
    cash = 100.0
    plan = plan_buys(targets, holdings, prices, cash, rules, 5, Reserves(), 0.0)
    assert {o.pair for o in plan.orders} == {"AAA/USDT", "BBB/USDT"}
    assert [s.pair for s in plan.skipped] == ["CCC/USDT"]
    spent = sum(o.value for o in plan.orders)
    assert spent == pytest.approx(cash, abs=0.001)  # every unit of cash goes to an order that is sent
    assert plan.orders[0].value == pytest.approx(2 * plan.orders[1].value, rel=1e-6)  # pro rata between them


def test_the_trigger_is_evaluated_on_the_tick_an_operation_completes():
    engine = started()
    d = tick(engine, 120, {"BTC/USDT": 120.0, "ETH/USDT": 10.0})
    assert d.orders[0].side == "sell"
    d = tick(engine, 180, {"BTC/USDT": 120.0, "ETH/USDT": 10.0})
    assert d.orders[0].side == "buy"
    # the buys filled; BTC rises again: the operation completes and a new rebalance starts on this same tick
    d = tick(engine, 240, {"BTC/USDT": 140.0, "ETH/USDT": 10.0})
    kinds = [n.kind for n in d.notices]
    assert kinds[0] == "rebalance_finished" and "rebalance_started" in kinds
    assert d.orders and d.orders[0].pair == "BTC/USDT" and d.orders[0].side == "sell"
    assert engine.rebalances == 2


def test_after_an_operation_the_same_tick_reports_why_nothing_happened():
    engine = started()
    d = tick(engine, 120, {"BTC/USDT": 100.0, "ETH/USDT": 10.0})
    assert d.reason is not None and d.reason.code == ev.BELOW_THRESHOLD


# ---------------------------------------------------------------- 2. records
def test_trade_rows_name_the_operation_kind_and_trigger():
    from smartpf_core.records import RECORD_COLUMNS, trade_rows

    engine = four_coins()
    engine.update_spec(make_spec(assets=FOUR, investment=12000, threshold=5))
    tick(engine, 120, FLAT4)
    tick(engine, 180, FLAT4)
    engine.update_spec(make_spec(assets=FOUR, investment=6000, threshold=5))
    tick(engine, 240, FLAT4)
    tick(engine, 300, FLAT4)
    engine.update_spec(make_spec(assets={"AAA": 50, "BBB": 50}, investment=6000, threshold=5))
    tick(engine, 360, FLAT4)
    tick(engine, 420, FLAT4)
    tick(engine, 480, FLAT4)
    engine.update_spec(make_spec(assets={"AAA": 50, "BBB": 50}, investment=6000, threshold=5, terminate="sell"))
    tick(engine, 540, FLAT4)
    tick(engine, 600, FLAT4)
    rows = trade_rows(engine.records)
    assert tuple(rows[0]) == RECORD_COLUMNS
    assert len(rows) == engine.orders_filled
    kinds = {(r["operation_kind"], r["trigger"]) for r in rows}
    assert kinds == {("initial", ""), ("deposit", ""), ("withdrawal", ""), ("rebalance", "targets"),
                     ("exit", "terminate")}


# ---------------------------------------------------------------- 3. the wick guard
WICK = {"BTC/USDT": 100.0, "ETH/USDT": 1.0}  # ETH -90 % for one tick


def test_a_wick_does_not_trigger_the_stop_loss_or_a_rebalance():
    engine = started(make_spec(stop_loss=20))
    d = tick(engine, 120, WICK)
    assert not d.orders and engine.status == "running"
    assert d.reason.code == ev.PRICE_UNCONFIRMED and "ETH/USDT -90.0 %" in d.reason.message
    d = tick(engine, 180, {"BTC/USDT": 100.0, "ETH/USDT": 10.0})  # back: nothing happened
    assert not d.orders and engine.status == "running" and engine.rebalances == 0


def test_a_crash_that_persists_is_acted_on_one_check_later():
    engine = started(make_spec(stop_loss=20))
    d = tick(engine, 120, WICK)
    assert not d.orders and engine.status == "running"
    d = tick(engine, 150, {"BTC/USDT": 100.0, "ETH/USDT": 1.05})  # still down, but not one check later yet
    assert not d.orders and d.reason.code == ev.PRICE_UNCONFIRMED
    d = tick(engine, 180, {"BTC/USDT": 100.0, "ETH/USDT": 1.1})  # confirmed: the stop-loss acts
    assert engine.termination["trigger"] == "stop_loss" and d.orders and all(o.side == "sell" for o in d.orders)


def test_without_the_guard_the_wick_terminates_at_once():
    engine = started(make_spec(stop_loss=20, price_guard=None))
    d = tick(engine, 120, WICK)
    assert engine.termination["trigger"] == "stop_loss" and d.orders


def test_a_gradual_move_is_never_held():
    engine = started(make_spec(price_guard=10))
    price = 100.0
    for i in range(10):
        price *= 0.93
        d = tick(engine, 120 + 60 * i, {"BTC/USDT": price, "ETH/USDT": 10.0})
        assert d.reason is None or d.reason.code != ev.PRICE_UNCONFIRMED


def test_the_guard_state_survives_a_restart():
    engine = started(make_spec(stop_loss=20))
    tick(engine, 120, WICK)
    restored = Engine.from_dict(json.loads(json.dumps(engine.to_dict())))
    d = tick(restored, 180, {"BTC/USDT": 100.0, "ETH/USDT": 1.1})
    assert restored.termination["trigger"] == "stop_loss" and d.orders
    old = engine.to_dict()
    del old["guard"]  # a state written before the guard existed still loads
    assert Engine.from_dict(old).guard.accepted == {}


# ---------------------------------------------------------------- 4. ledgers
THREE = {"BTC": 40, "ETH": 30, "SOL": 30}
P3 = {"BTC/USDT": 100.0, "ETH/USDT": 10.0, "SOL/USDT": 20.0}


def test_the_hodl_shadow_prices_a_coin_removed_from_the_portfolio():
    engine = started(make_spec(assets=THREE), P3)
    engine.update_spec(make_spec(assets={"BTC": 50, "ETH": 50}))
    for t in (120, 180, 240):
        tick(engine, t, P3)
    assert engine.holdings["SOL/USDT"] == 0.0 and engine.hodl.holdings["SOL/USDT"] > 0
    assert "SOL/USDT" in engine.ledger_pairs()
    later = {"BTC/USDT": 100.0, "ETH/USDT": 10.0, "SOL/USDT": 10.0}
    true_hodl = engine.hodl.cash + sum(q * later[p] for p, q in engine.hodl.holdings.items())
    assert engine.details(later)["hodl_value"] == pytest.approx(true_hodl)
    # without the removed coin's price the HODL is not valued (never at 0 for want of a price)
    partial = {p: v for p, v in later.items() if p != "SOL/USDT"}
    assert engine.details(partial)["hodl_value"] is None


def test_a_withdrawal_waits_for_the_price_of_every_coin_the_hodl_holds():
    engine = started(make_spec(assets=THREE), P3)
    engine.update_spec(make_spec(assets={"BTC": 50, "ETH": 50}))
    for t in (120, 180, 240):
        tick(engine, t, P3)
    hodl_sol = engine.hodl.holdings["SOL/USDT"]
    hodl_before = engine.hodl.value(P3)
    engine.update_spec(make_spec(assets={"BTC": 50, "ETH": 50}, investment=700))
    d = tick(engine, 300, {"BTC/USDT": 100.0, "ETH/USDT": 10.0})  # no SOL price
    assert d.reason.code == ev.MISSING_PRICE and "SOL/USDT" in d.reason.message
    assert engine.invested == 1000 and engine.hodl.holdings["SOL/USDT"] == hodl_sol
    tick(engine, 360, P3)
    tick(engine, 420, P3)
    assert engine.invested == pytest.approx(700)
    assert engine.hodl.holdings["SOL/USDT"] < hodl_sol  # sold pro rata at its real price, not at 0
    # the HODL shadow gave up 300 of its value (its coins sold pro rata, net of the sell fee)
    assert engine.hodl.value(P3) == pytest.approx(hodl_before - 300 / (1 - 0.001), abs=0.01)


COARSE = {"BTC/USDT": MarketRules(min_notional=5, amount_step=0.001), "ETH/USDT": MarketRules(min_notional=5,
                                                                                              amount_step=0.01)}
PC = {"BTC/USDT": 1000.0, "ETH/USDT": 100.0}  # one step is 1 USDT for both


def test_a_withdrawal_raises_what_was_asked_not_less_by_the_rounding():
    engine = Engine(make_spec(), COARSE)
    tick(engine, 0, PC)
    tick(engine, 60, PC)
    hodl_before = engine.hodl.value(PC)
    engine.update_spec(make_spec(investment=700))
    d = tick(engine, 120, PC)
    assert all(o.side == "sell" for o in d.orders)
    d = tick(engine, 180, PC)
    assert "withdrawal_short" not in [n.kind for n in d.notices]
    assert engine.withdrawn == pytest.approx(300) and engine.invested == pytest.approx(700)
    assert engine.hodl.value(PC) == pytest.approx(hodl_before - 300 / 0.999 * 0.999, abs=0.5)


def test_a_short_withdrawal_names_the_true_reason_and_cuts_the_principal_by_what_was_withdrawn():
    rules = {"BTC/USDT": MarketRules(min_notional=300, amount_step=0.00001),
             "ETH/USDT": MarketRules(min_notional=300, amount_step=0.0001)}
    engine = Engine(make_spec(min_trade=5), rules)
    tick(engine, 0, {"BTC/USDT": 100.0, "ETH/USDT": 10.0})
    tick(engine, 60, {"BTC/USDT": 100.0, "ETH/USDT": 10.0})
    prices = {"BTC/USDT": 100.0, "ETH/USDT": 10.0}
    hodl_before = engine.hodl.value(prices)
    engine.update_spec(make_spec(investment=600))  # each position must keep 450 (1.5 x 300)
    notices = [*tick(engine, 120, prices).notices, *tick(engine, 180, prices).notices]
    short = next(n for n in notices if n.kind == "withdrawal_short")
    assert "positions of BTC/USDT, ETH/USDT are at their minimum" in short.message
    withdrawn = engine.withdrawn
    assert 0 < withdrawn < 400
    assert engine.invested == pytest.approx(1000 - withdrawn)
    assert engine.hodl.value(prices) == pytest.approx(hodl_before - withdrawn, abs=0.2)
    count = len(engine.records)
    for t in (240, 300):
        d = tick(engine, t, prices)
        assert not d.orders
    assert len(engine.records) == count  # what stays invested is not withdrawn again and again
    engine.update_spec(make_spec(investment=700))  # a later raise adds exactly the difference to the setting
    tick(engine, 360, prices)
    assert engine.invested == pytest.approx(1000 - withdrawn + 100)


# ---------------------------------------------------------------- 5. same input, same orders
HASH_SCRIPT = """
import json
from smartpf_core import Engine, MarketRules, Snapshot, parse_settings
spec = parse_settings({"smart_portfolio": {"assets": {"AAA": 50, "BBB": 50}, "investment": 1000}}).spec
rules = {p: MarketRules(min_notional=5, amount_step=0.001) for p in ("AAA/USDT", "BBB/USDT", "CCC/USDT",
         "DDD/USDT", "EEE/USDT", "FFF/USDT")}
state = Engine(spec, rules).to_dict()
state.update(status="running", started_at=0.0, holdings={"AAA/USDT": 2.0, "BBB/USDT": 2.0}, cash=0.0)
engine = Engine.from_dict(state)
prices = dict.fromkeys(rules, 100.0)
holdings = {"AAA/USDT": 2.0, "BBB/USDT": 2.0, "CCC/USDT": 1.0, "DDD/USDT": 1.0, "EEE/USDT": 1.0, "FFF/USDT": 1.0}
decision = engine.step(Snapshot(60.0, prices, holdings=holdings))
print(json.dumps([[o.pair, o.side] for o in decision.orders]))
"""


def test_orders_do_not_depend_on_the_hash_seed():
    outputs = set()
    for seed in ("0", "1", "2", "3"):
        proc = subprocess.run([sys.executable, "-c", HASH_SCRIPT], capture_output=True, text=True, check=True,
                              env={"PYTHONHASHSEED": seed, "PATH": ""})
        outputs.add(proc.stdout)
    assert len(outputs) == 1, outputs
    orders = json.loads(outputs.pop())
    assert [p for p, _ in orders] == ["CCC/USDT", "DDD/USDT", "EEE/USDT", "FFF/USDT"]  # the host's order



@pytest.mark.parametrize("value", [0, -5, "20", True, float("nan")])
def test_price_guard_must_be_a_positive_percent_or_null(value):
    from smartpf_core import parse_settings

    result = parse_settings({"smart_portfolio": {"assets": {"BTC": 50, "ETH": 50}, "investment": 1000,
                                                 "price_guard": value}})
    assert not result.ok
    assert any(p.key == "smart_portfolio.price_guard" and "greater than 0" in p.allowed for p in result.errors)


def test_price_guard_default_and_off():
    assert make_spec().price_guard == 25.0
    assert make_spec(price_guard=None).price_guard is None
    assert make_spec(price_guard=10).to_dict()["price_guard"] == 10
