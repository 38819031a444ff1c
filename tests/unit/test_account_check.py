"""The account against the portfolio (issue 18 item 8): a coin the account holds less of than the portfolio,
beyond dust, stops trading and is said once; the account's amounts taken as the truth resume it."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smartpf_core import Engine, Snapshot
from smartpf_core import events as ev
from smartpf_core.account import dust, shortfalls
from tests.support.helpers import RULES, make_spec, started, tick

PRICES = {"BTC/USDT": 100.0, "ETH/USDT": 10.0}


def test_dust_is_one_lot_step_plus_a_fee():
    held = {"ETH/USDT": 50.0}
    limit = RULES["ETH/USDT"].amount_step + 50.0 * 0.001
    assert dust(50.0, RULES["ETH/USDT"], 0.001) == pytest.approx(limit)
    assert shortfalls(held, {"ETH/USDT": 50.0 - limit * 0.99}, RULES, 0.001) == []
    (short,) = shortfalls(held, {"ETH/USDT": 50.0 - limit * 1.01}, RULES, 0.001)
    assert short.missing == pytest.approx(limit * 1.01)
    assert shortfalls(held, {"ETH/USDT": 80.0}, RULES, 0.001) == []  # more in the account: not ours, no harm
    assert shortfalls(held, {}, RULES, 0.001) == []  # a coin the host could not read is not judged
    assert shortfalls(held, {"ETH/USDT": 0.0}, RULES, 0.001, skip={"ETH/USDT"}) == []  # an order outstanding


def test_a_withdrawal_outside_stops_trading_says_it_once_and_the_truth_taken_resumes():
    engine = started()
    eth = engine.holdings["ETH/USDT"]
    account = {"BTC/USDT": engine.holdings["BTC/USDT"], "ETH/USDT": eth * 0.4}  # 60 % of the ETH withdrawn
    seen = []
    for t in (60, 120, 180, 240):  # ETH now far under target: a rebalance would be due, none may start
        decision = engine.step(Snapshot(3600 + t, {"BTC/USDT": 100.0, "ETH/USDT": 13.0}, balances=account))
        assert decision.orders == () and decision.reason.code == ev.DIVERGED
        seen += [n for n in decision.notices if n.kind == ev.DIVERGED]
    assert len(seen) == 1 and "ETH: the account holds" in seen[0].message and "--apply" in seen[0].message
    assert engine.details(PRICES)["status"] == "diverged"
    restored = Engine.from_dict(engine.to_dict())  # `smartpf status` reads it with the bot stopped
    assert restored.diverged == engine.diverged

    invested, investment = engine.invested, engine.spec.investment
    record = engine.corrections.moved_outside({"ETH/USDT": eth * 0.6}, PRICES, 5000)
    assert record.kind == "outside" and engine.diverged is None
    assert engine.holdings["ETH/USDT"] == pytest.approx(eth * 0.4)
    assert engine.invested == pytest.approx(invested - eth * 0.6 * 10.0)  # a withdrawal, not a loss
    assert engine.spec.investment == investment
    decision = engine.step(Snapshot(7200, PRICES, balances=account))
    assert decision.reason is None or decision.reason.code != ev.DIVERGED
    assert not any(n.kind == "investment_added" for n in decision.notices)  # nothing bought back as a deposit
    assert all(o.side == "sell" and o.pair == "BTC/USDT" for o in decision.orders)  # the rebalance towards ETH


def test_a_stop_loss_does_not_fire_on_coins_moved_outside():
    engine = started(make_spec(stop_loss=10))
    eth = engine.holdings["ETH/USDT"]
    engine.corrections.moved_outside({"ETH/USDT": eth * 0.6}, PRICES, 100)
    decision = engine.step(Snapshot(3600, PRICES))
    assert engine.status == "running" and engine.termination is None, decision


def test_the_coins_coming_back_end_the_divergence():
    engine = started()
    held = dict(engine.holdings)
    engine.step(Snapshot(3600, PRICES, balances={**held, "BTC/USDT": 0.0}))
    assert engine.diverged is not None
    engine.step(Snapshot(3660, PRICES, balances=held))
    assert engine.diverged is None and engine.details(PRICES)["status"] == "running"


@settings(max_examples=200, deadline=None)
@given(st.floats(0.0, 1.2), st.floats(0.0, 1.2), st.floats(50.0, 200.0))
def test_no_order_while_any_coin_is_short_beyond_dust(btc_share, eth_share, btc_price):
    """Whatever the prices and whatever is left of each coin, no order leaves while a coin is short."""
    engine = started()
    account = {"BTC/USDT": engine.holdings["BTC/USDT"] * btc_share, "ETH/USDT": engine.holdings["ETH/USDT"] * eth_share}
    short = shortfalls(engine.holdings, account, engine.rules, engine.spec.fee)
    decision = tick(engine, 3600, {"BTC/USDT": btc_price, "ETH/USDT": 10.0}, fill=False, balances=account)
    assert (decision.reason is not None and decision.reason.code == ev.DIVERGED) == bool(short)
    if short:
        assert decision.orders == ()


def test_the_diverged_status_moves_only_through_its_table():
    """A running portfolio found short moves to status ``diverged`` and back to ``running`` when the account
    agrees; both moves are in the portfolio's table, and a diverged portfolio cannot be bought or terminated."""
    from smartpf_core.portfolio import IllegalTransition
    from smartpf_core.portfolio.states import PORTFOLIO, PortfolioEvent, PortfolioStatus

    engine = started()
    held = dict(engine.holdings)
    engine.step(Snapshot(3600, PRICES, balances={**held, "BTC/USDT": 0.0}))
    assert engine.status == "diverged" and Engine.from_dict(engine.to_dict()).status == "diverged"
    decision = engine.step(Snapshot(3660, PRICES))  # a tick without balances: still stopped, said already
    assert decision.orders == () and decision.reason.code == ev.DIVERGED and decision.notices == ()
    engine.step(Snapshot(3720, PRICES, balances=held))
    assert engine.status == "running" and "diverged" not in engine.to_dict()
    for event in (PortfolioEvent.BOUGHT, PortfolioEvent.ADOPTED, PortfolioEvent.TERMINATED, PortfolioEvent.DIVERGED):
        with pytest.raises(IllegalTransition):
            PORTFOLIO.transition(PortfolioStatus.DIVERGED, event)
    with pytest.raises(IllegalTransition):
        PORTFOLIO.transition(PortfolioStatus.RUNNING, PortfolioEvent.AGREED)


def test_a_portfolio_still_buying_stops_the_same_way_but_stays_new():
    engine = Engine(make_spec(), RULES, portfolio_id="p")
    orders = engine.step(Snapshot(1000, PRICES)).orders
    engine.order_placed(orders[0].id)
    from smartpf_core import Fill

    engine.on_fill(Fill(orders[0].id, orders[0].amount, orders[0].price, 0.0, 1001))
    decision = engine.step(Snapshot(1060, PRICES, balances={orders[0].pair: 0.0}, open_orders=frozenset()))
    assert decision.reason.code == ev.DIVERGED and engine.status == "new"
    assert engine.details(PRICES)["status"] == "diverged" and engine.diverged is not None
