"""Dust left by fees taken in the coin: the core rule (smartpf_core.dust), the engine counting it in its
value and details and keeping it across a save, the adapter's fills on the same basis as the HODL
comparison, and reconcile showing it as dust, not as a difference."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smartpf.cli.reconcile import compare
from smartpf.freqtrade.dustfeed import measure, ordered_amount
from smartpf.freqtrade.reconcile import fill_from, reconcile
from smartpf_core import Engine, MarketRules, Order, PortfolioSpec, Snapshot
from smartpf_core.dust import bought_net_of_coin_fee, coin_dust, dust_by_pair, fold_into_sell, sweepable, with_dust
from tests.support.helpers import make_spec

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
    from smartpf.cli.view import format_view, portfolio_view

    prices = {"BTC/USDT": 100.0, "XRP/USDT": 1.0}
    engine = Engine.adopt(spec(), {"BTC/USDT": 5.0, "XRP/USDT": 500.0}, cash=0.0, now=0.0)
    engine.step(Snapshot(0.0, prices, dust={"XRP/USDT": 0.789}))
    view = portfolio_view(engine, prices, 0.0, 60.0)
    xrp = next(c for c in view["coins"] if c["pair"] == "XRP/USDT")
    assert xrp["dust"] == pytest.approx(0.789) and view["value"] == pytest.approx(1000.789)
    assert "dust (fees taken in the coin" in format_view(view, "USDT", "p1", 60.0)


# ------------------------------------------------------------------ dust sold with the coin
XRP_RULES = {"BTC/USDT": MarketRules(min_notional=5, min_amount=0.00001, amount_step=0.00001, price_tick=0.01),
             "XRP/USDT": MarketRules(min_notional=5, min_amount=1.0, amount_step=1.0, price_tick=0.0001)}


def xrp_engine(dust: float) -> tuple[Engine, dict[str, float]]:
    prices = {"BTC/USDT": 100.0, "XRP/USDT": 1.0}
    engine = Engine.adopt(make_spec(assets={"BTC": 50, "XRP": 50}, threshold=5, price_guard=None),
                          {"BTC/USDT": 5.0, "XRP/USDT": 500.0},
                          cash=0.0, now=0.0, rules=XRP_RULES)
    engine.step(Snapshot(0.0, prices, holdings={"BTC/USDT": 5.0, "XRP/USDT": 500.0}, dust={"XRP/USDT": dust}))
    return engine, prices


def test_a_sell_takes_the_coins_dust_along_when_it_reaches_a_step():
    engine, prices = xrp_engine(2.789)
    value = engine.value(prices)
    prices = {"BTC/USDT": 100.0, "XRP/USDT": 1.5}  # XRP up: the rebalance sells XRP
    (sell,) = engine.step(Snapshot(120.0, prices, holdings={"BTC/USDT": 5.0, "XRP/USDT": 500.0})).orders
    assert sell.side == "sell" and sell.pair == "XRP/USDT"
    plain = 500 - (500 * 1.5 + 500) / 2 / 1.5  # what it sells without the dust: 83.33 -> 83
    assert sell.amount == pytest.approx(83 + 2)  # two whole steps of dust go along; 0.789 stays (below a step)
    assert int(plain) == 83
    assert engine.dust == {"XRP/USDT": pytest.approx(0.789)}
    assert engine.holdings["XRP/USDT"] == pytest.approx(502.0)  # moved from the dust: the value is unchanged
    assert engine.value({"BTC/USDT": 100.0, "XRP/USDT": 1.0}) == pytest.approx(value)


def test_dust_below_a_step_stays_dust():
    engine, _ = xrp_engine(0.789)
    (sell,) = engine.step(Snapshot(120.0, {"BTC/USDT": 100.0, "XRP/USDT": 1.5},
                                   holdings={"BTC/USDT": 5.0, "XRP/USDT": 500.0})).orders
    assert sell.amount == 83 and engine.dust == {"XRP/USDT": pytest.approx(0.789)}


def test_terminate_with_sell_sweeps_the_dust_with_the_last_sell():
    engine, prices = xrp_engine(2.789)
    ended = make_spec(assets={"BTC": 50, "XRP": 50}, threshold=5, price_guard=None, terminate="sell")
    assert engine.update_spec(ended)[0]
    orders = engine.step(Snapshot(120.0, prices, holdings={"BTC/USDT": 5.0, "XRP/USDT": 500.0})).orders
    xrp = next(o for o in orders if o.pair == "XRP/USDT")
    assert xrp.full and xrp.amount == pytest.approx(502.0)  # all of it that the step allows
    assert sweepable(engine.dust["XRP/USDT"], 1.0, 1.0, 5.0, 1.0) == 0.0  # what stays, no exchange takes


@given(st.floats(min_value=0, max_value=50), st.floats(min_value=1.05, max_value=3.0),
       st.sampled_from([0.001, 0.1, 1.0]))
def test_folding_never_changes_the_value_and_sells_on_the_step(dust, rise, step):
    rules = {**XRP_RULES, "XRP/USDT": MarketRules(min_notional=5, min_amount=step, amount_step=step,
                                                  price_tick=0.0001)}
    engine = Engine.adopt(make_spec(assets={"BTC": 50, "XRP": 50}, threshold=1, price_guard=None),
                          {"BTC/USDT": 5.0, "XRP/USDT": 500.0},
                          cash=0.0, now=0.0, rules=rules)
    engine.step(Snapshot(0.0, {"BTC/USDT": 100.0, "XRP/USDT": 1.0}, holdings={"BTC/USDT": 5.0, "XRP/USDT": 500.0},
                         dust={"XRP/USDT": dust}))
    prices = {"BTC/USDT": 100.0, "XRP/USDT": rise}
    before = engine.value(prices)
    orders = engine.step(Snapshot(120.0, prices, holdings={"BTC/USDT": 5.0, "XRP/USDT": 500.0})).orders
    assert engine.value(prices) == pytest.approx(before)
    for o in orders:
        if o.pair == "XRP/USDT" and o.side == "sell":
            assert o.amount <= 500.0 + dust + 1e-9
            assert abs(o.amount / step - round(o.amount / step)) < 1e-6  # on the step: the exchange takes it
            assert engine.dust.get("XRP/USDT", 0.0) < step + 1e-9 or o.amount < 500 * 0.5  # a step left at most


def test_the_trade_takes_in_the_folded_dust_from_its_coin_fee_record():
    from smartpf.freqtrade.dustfeed import fold_into_trades, take_into_trade

    class FakeTrade(SimpleNamespace):
        def recalc_trade_from_orders(self):
            self.amount = float(sum(o.safe_filled - (o.ft_fee_base or 0.0) for o in self.orders) // 1.0)

    older = SimpleNamespace(ft_order_side="buy", ft_is_open=False, safe_filled=300.0, ft_fee_base=0.3,
                            order_date=datetime.fromtimestamp(1, UTC))
    newer = SimpleNamespace(ft_order_side="buy", ft_is_open=False, safe_filled=203.0, ft_fee_base=2.5,
                            order_date=datetime.fromtimestamp(2, UTC))
    trade = FakeTrade(pair="XRP/USDT", entry_side="buy", orders=[older, newer], amount=0.0)
    trade.recalc_trade_from_orders()
    assert trade.amount == 500.0  # 500.2, floored to the step: 2.8 XRP of fees recorded, 0.2 of dust
    assert take_into_trade(trade, 2.0) == pytest.approx(2.0) and trade.amount == 502.0
    assert newer.ft_fee_base == pytest.approx(0.5) and older.ft_fee_base == pytest.approx(0.3)  # newest first
    assert take_into_trade(trade, 5.0) == pytest.approx(1.0)  # never more than the fee recorded
    assert newer.ft_fee_base == 0.0 and older.ft_fee_base == 0.0
    sell = Order("rb2:sell:XRP/USDT", "rb2", "XRP/USDT", "sell", 80.0, 1.0)
    assert fold_into_trades([sell], {"XRP/USDT": 503.0}, [trade]) == []  # nothing folded: nothing to take in


def test_terminate_with_sell_sweeps_a_position_too_small_alone_together_with_its_dust():
    """3.4 XRP at 1.5 (5.1 USDT) is below the 6-USDT minimum on its own; with 2.789 of dust, 6 XRP (9 USDT) sells."""
    rules = {**XRP_RULES, "XRP/USDT": MarketRules(min_notional=6, min_amount=1.0, amount_step=1.0, price_tick=0.0001)}
    prices = {"BTC/USDT": 100.0, "XRP/USDT": 1.5}
    held = {"BTC/USDT": 5.0, "XRP/USDT": 3.4}
    spec = make_spec(assets={"BTC": 50, "XRP": 50}, threshold=5, price_guard=None)
    for dust, sold in ((2.789, 6.0), (0.5, None)):  # with too little dust it stays behind, said so
        engine = Engine.adopt(spec, held, cash=0.0, now=0.0, rules=rules)
        ended = make_spec(assets={"BTC": 50, "XRP": 50}, threshold=5, price_guard=None, terminate="sell")
        assert engine.update_spec(ended)[0]
        step = engine.step(Snapshot(120.0, prices, holdings=held, dust={"XRP/USDT": dust}))
        orders = {o.pair: o for o in step.orders}
        assert orders["BTC/USDT"].full
        if sold is None:
            assert "XRP/USDT" not in orders
        else:
            assert orders["XRP/USDT"].full and orders["XRP/USDT"].amount == pytest.approx(sold)
