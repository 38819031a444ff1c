"""Dust left by fees taken in the coin: the core rule (smartpf_core.dust), the engine counting it in its
value and details and keeping it across a save, the adapter's fills on the same basis as the HODL
comparison, and reconcile showing it as dust, not as a difference."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smartpf.adapter.dustfeed import measure, ordered_amount
from smartpf.adapter.reconcile import fill_from, reconcile
from smartpf.reconcile_cli import compare
from smartpf_core import Engine, Order, PortfolioSpec, Snapshot
from smartpf_core.dust import bought_net_of_coin_fee, coin_dust, dust_by_pair, fold_into_sell, sweepable, with_dust
from tests.helpers import make_spec

amounts = st.floats(min_value=0, max_value=1e6, allow_nan=False, allow_infinity=False)


# ------------------------------------------------------------------ the rule
def test_the_measured_case_is_dust_not_a_difference():
    # Binance, fee in XRP: 211 bought, 0.211 fee, the bot books 210.0 (floored), the exchange holds 210.789
    assert coin_dust(210.789, 210.0, 211.0) == pytest.approx(0.789)


def test_coins_deposited_by_hand_are_not_dust_and_a_withdrawal_shrinks_it():
    assert coin_dust(260.789, 210.0, 211.0) == pytest.approx(1.0)  # at most what the orders brought in
    assert coin_dust(210.5, 210.0, 211.0) == pytest.approx(0.5)
    assert coin_dust(209.0, 210.0, 211.0) == 0.0  # less than booked: a difference, not dust
    assert coin_dust(210.789, 210.0, 210.0) == 0.0  # fees in quote: the orders brought in what is booked
    assert coin_dust(float("nan"), 1.0, 2.0) == 0.0


@given(amounts, amounts, amounts)
def test_dust_is_bounded_by_the_exchange_and_by_the_orders(on_exchange, booked, ordered):
    d = coin_dust(on_exchange, booked, ordered)
    assert d >= 0
    assert booked + d <= max(on_exchange, booked) + 1e-9  # never counts coins the account does not hold
    assert d <= max(0.0, ordered - booked) + 1e-9  # never coins the portfolio did not order


def test_dust_by_pair_leaves_out_zeros():
    assert dust_by_pair({"XRP/USDT": 210.789, "BTC/USDT": 0.5}, {"XRP/USDT": 210.0, "BTC/USDT": 0.5},
                        {"XRP/USDT": 211.0, "BTC/USDT": 0.5}) == {"XRP/USDT": pytest.approx(0.789)}


def test_fold_into_a_sell_when_the_exchange_takes_the_amount():
    assert fold_into_sell(100.0, 0.789, 0.1, 210.789) == pytest.approx(100.7)  # on the step
    assert fold_into_sell(100.0, 0.789, 1.0, 210.789) == 100.0  # less than a step: nothing to fold
    assert fold_into_sell(100.0, 0.789, 0.1, 100.5) == 100.0  # the account does not hold it free
    assert fold_into_sell(0.0, 0.789, 0.1, 210.789) == 0.0


@given(amounts, amounts, st.sampled_from([0.0, 1e-8, 0.001, 0.1, 1.0]), amounts)
def test_a_folded_sell_never_exceeds_the_free_balance_nor_shrinks(amount, dust, step, free):
    out = fold_into_sell(amount, dust, step, free)
    assert out >= amount
    assert out == amount or out <= free * (1 + 1e-12)
    assert out <= amount + dust + 1e-9


def test_sweep_only_what_the_exchange_accepts():
    assert sweepable(0.789, 0.1, 0.1, 5.0, 10.0) == pytest.approx(0.7)
    assert sweepable(0.789, 0.1, 1.0, 5.0, 10.0) == 0.0  # under the minimum amount
    assert sweepable(0.789, 0.1, 0.1, 10.0, 10.0) == 0.0  # under the minimum order value


# ------------------------------------------------------------------ the engine
def spec() -> PortfolioSpec:
    return make_spec(assets={"BTC": 50, "XRP": 50}, threshold=5)


def test_the_engine_counts_dust_in_value_and_details_and_keeps_it():
    prices = {"BTC/USDT": 100.0, "XRP/USDT": 1.0}
    engine = Engine.adopt(spec(), {"BTC/USDT": 5.0, "XRP/USDT": 500.0}, cash=0.0, now=0.0)
    before = engine.value(prices)
    engine.step(Snapshot(0.0, prices, holdings={"BTC/USDT": 5.0, "XRP/USDT": 500.0}, dust={"XRP/USDT": 0.789}))
    assert engine.value(prices) == pytest.approx(before + 0.789)
    xrp = next(c for c in engine.details(prices)["coins"] if c["pair"] == "XRP/USDT")
    assert xrp["dust"] == pytest.approx(0.789) and xrp["value"] == pytest.approx(500.789)
    again = Engine.from_dict(engine.to_dict())
    assert again.dust == engine.dust
    engine.step(Snapshot(1.0, prices, holdings={"BTC/USDT": 5.0, "XRP/USDT": 500.0}))  # None: unchanged
    assert engine.dust == {"XRP/USDT": pytest.approx(0.789)}
    assert with_dust({"A/B": 1.0}, {"A/B": 0.5, "C/B": 0.25}) == {"A/B": 1.5, "C/B": 0.25}


# ------------------------------------------------------------------ the adapter
def ft_order(side: str, filled: float, price: float, fee_base: float | None = None) -> SimpleNamespace:
    return SimpleNamespace(ft_order_side=side, safe_filled=filled, safe_price=price, order_filled_date=None,
                           ft_fee_base=fee_base)


def test_a_fill_with_the_fee_in_the_coin_pays_the_cash_once_and_books_what_arrived():
    order = Order("init1:buy:XRP/USDT", "init1", "XRP/USDT", "buy", 211.0, 1.0)
    trade = SimpleNamespace(entry_side="buy", fee_open=0.001, fee_close=0.001)
    quote_fee = fill_from(order, ft_order("buy", 211.0, 1.0), trade, 0.0)
    coin_fee = fill_from(order, ft_order("buy", 211.0, 1.0), trade, 0.0, fee_base=0.211)
    assert (quote_fee.amount, quote_fee.fee) == (211.0, pytest.approx(0.211))
    assert coin_fee.amount == pytest.approx(210.789) and coin_fee.fee == pytest.approx(0.211)
    # the cash the engine charges is what the account paid: the notional, not the notional plus the fee
    assert coin_fee.amount * coin_fee.price + coin_fee.fee == pytest.approx(211.0)


@given(st.floats(min_value=1e-6, max_value=1e6), st.floats(min_value=1e-6, max_value=1e6),
       st.floats(min_value=-1.0, max_value=1e6, allow_nan=False), st.floats(min_value=0, max_value=100))
def test_a_buy_net_of_its_coin_fee_costs_the_cash_what_the_account_paid_once(filled, price, coin_fee, quote_fee):
    fill = bought_net_of_coin_fee("o", filled, price, coin_fee, quote_fee, 0.0)
    assert fill.amount * fill.price + fill.fee == pytest.approx(filled * price + quote_fee)  # never the fee twice
    assert 0 < fill.amount <= filled
    assert fill.amount == (pytest.approx(filled - coin_fee) if 0 < coin_fee < filled else filled)


def test_the_database_fills_are_booked_net_of_the_coin_fee_freqtrade_recorded_whoever_books_them():
    """`smartpf reconcile --apply` books the fills the trade database holds of a restored state's operation: with
    the coin fee Freqtrade recorded on the order (``ft_fee_base``) even without a way to ask the exchange, or the
    fee was charged twice (the coins the exchange kept, and their value again from the cash: -0.81 USDT on the
    restored-backup test's 1000)."""
    engine = Engine(make_spec(assets={"BTC": 50, "XRP": 50}, investment=1000, threshold=5))
    prices = {"BTC/USDT": 100.0, "XRP/USDT": 1.0}
    buys = engine.step(Snapshot(1000.0, prices, holdings={})).orders
    trades = {}
    for buy in buys:
        engine.order_placed(buy.id)
        order = SimpleNamespace(ft_order_side="buy", ft_order_tag=buy.id, status="closed", safe_filled=buy.amount,
                                safe_price=prices[buy.pair], order_date=datetime.fromtimestamp(1005, UTC),
                                order_filled_date=None,
                                ft_fee_base=buy.amount * 0.001)
        trades[buy.pair] = [SimpleNamespace(orders=[order], entry_side="buy", fee_open=0.001, fee_close=0.001)]
    reconcile(engine, trades, 1010.0, 1000.0)  # no fee_base callable: as `reconcile --apply` called it
    paid = sum(b.amount * prices[b.pair] for b in buys)
    assert engine.cash == pytest.approx(1000 - paid)  # what left the account, once
    assert engine.holdings["XRP/USDT"] == pytest.approx(next(b.amount for b in buys if b.pair == "XRP/USDT") * 0.999)


def test_the_hodl_comparison_starts_level_with_the_portfolio_when_fees_are_in_the_coin():
    """The measured case: a minute after the first purchase the portfolio was 0.4 points behind its HODL,
    because the bot booked the net amount floored to the step and the HODL the full amount."""
    engine = Engine(make_spec(assets={"BTC": 50, "XRP": 50}, investment=1000, threshold=5))
    prices = {"BTC/USDT": 100.0, "XRP/USDT": 0.6}
    trade = SimpleNamespace(entry_side="buy", fee_open=0.001, fee_close=0.001)
    steps = {"BTC/USDT": 0.001, "XRP/USDT": 1.0}
    booked, exchange, ordered = {}, {}, {}
    decision = engine.step(Snapshot(0.0, prices, holdings={}))
    for buy in decision.orders:
        engine.order_placed(buy.id)
        fee = buy.amount * 0.001
        engine.on_fill(fill_from(buy, ft_order("buy", buy.amount, prices[buy.pair], fee), trade, 1.0, fee_base=fee))
        step = steps[buy.pair]
        booked[buy.pair] = (buy.amount - fee) // step * step  # Freqtrade floors the net amount to the step
        exchange[buy.pair] = buy.amount - fee
        ordered[buy.pair] = buy.amount
    assert exchange["XRP/USDT"] - booked["XRP/USDT"] > 0.5  # dust there is (XRP: a step of 1)
    engine.step(Snapshot(60.0, prices, holdings=booked, dust=dust_by_pair(exchange, booked, ordered)))
    details = engine.details(prices)
    assert details["value"] == pytest.approx(details["hodl_value"])  # the same basis on both sides
    spent = sum(ordered[p] * prices[p] for p in ordered)
    account = 1000 - spent + sum(exchange[p] * prices[p] for p in exchange)
    assert details["value"] == pytest.approx(account)  # = the account's money at these prices
    engine.step(Snapshot(120.0, prices, holdings=booked, dust={}))  # before: no dust counted
    assert engine.details(prices)["value"] < details["hodl_value"] - 0.3


def test_measure_feeds_the_rule_from_trades_and_balances():
    orders = [SimpleNamespace(ft_order_side="buy", safe_filled=211.0), SimpleNamespace(ft_order_side="sell",
                                                                                      safe_filled=100.0)]
    trade = SimpleNamespace(pair="XRP/USDT", amount=110.0, entry_side="buy", orders=orders)
    assert ordered_amount(trade) == pytest.approx(111.0)
    assert measure([trade], {"XRP": 110.6}.get) == {"XRP/USDT": pytest.approx(0.6)}


def test_reconcile_shows_dust_not_a_difference():
    rows = compare({"XRP": 210.789}, {"XRP": 210.0}, {"XRP": 210.0}, {"XRP": 0.1}, ["XRP"], {"XRP": 211.0})
    assert rows[0]["agree"] and rows[0]["dust"] == pytest.approx(0.789)
    assert rows[0]["difference"] == pytest.approx(0.0)
    moved = compare({"XRP": 205.0}, {"XRP": 210.0}, {"XRP": 210.0}, {"XRP": 0.1}, ["XRP"], {"XRP": 211.0})
    assert not moved[0]["agree"] and moved[0]["difference"] == pytest.approx(-5.0)


def test_dust_is_saved_only_when_there_is_some_and_hosts_cannot_assign_it():
    prices = {"BTC/USDT": 100.0, "XRP/USDT": 1.0}
    engine = Engine.adopt(spec(), {"BTC/USDT": 5.0, "XRP/USDT": 500.0}, cash=0.0, now=0.0)
    assert "dust" not in engine.to_dict()  # a version-2 state without dust writes back as it was read
    engine.step(Snapshot(0.0, prices, dust={"XRP/USDT": 0.789, "BTC/USDT": 0.0}))
    saved = engine.to_dict()
    assert saved["dust"] == {"XRP/USDT": pytest.approx(0.789)}
    assert Engine.from_dict({**saved, "dust": {"XRP/USDT": float("inf"), "BTC/USDT": -1}}).dust == {}
    with pytest.raises(AttributeError):
        engine.dust = {}  # type: ignore[misc]
    view = engine.view(prices)
    xrp = next(c for c in view.coins if c.pair == "XRP/USDT")
    assert (xrp.amount, xrp.dust, xrp.value) == (500.0, pytest.approx(0.789), pytest.approx(500.789))
    assert view.value == pytest.approx(engine.value(prices)) == pytest.approx(1000.789)


def test_status_shows_the_dust_beside_its_coin_and_in_the_value():
    from smartpf.view import format_view, portfolio_view

    prices = {"BTC/USDT": 100.0, "XRP/USDT": 1.0}
    engine = Engine.adopt(spec(), {"BTC/USDT": 5.0, "XRP/USDT": 500.0}, cash=0.0, now=0.0)
    engine.step(Snapshot(0.0, prices, dust={"XRP/USDT": 0.789}))
    view = portfolio_view(engine, prices, 0.0, 60.0)
    xrp = next(c for c in view["coins"] if c["pair"] == "XRP/USDT")
    assert xrp["dust"] == pytest.approx(0.789) and view["value"] == pytest.approx(1000.789)
    assert "dust (fees taken in the coin" in format_view(view, "USDT", "p1", 60.0)
