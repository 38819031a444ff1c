"""The exchange simulator alone (no HTTP): balances, fees in either asset, filters, partial fills,
limit orders, the operator's moves and the ledger that survives a restart."""

from __future__ import annotations

import json
from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smartpf.paths import DEFAULT_MARKETS
from smartpf.replay.exchange.filters import SymbolRules
from smartpf.replay.exchange.ledger import LedgerError
from smartpf.replay.exchange.simulator import (
    FILTER_FAILURE,
    INSUFFICIENT_BALANCE,
    MARKET_CLOSED,
    ExchangeSimulator,
    Rejected,
    parse_balances,
)


@pytest.fixture(scope="module")
def rules() -> dict[str, SymbolRules]:
    info = json.loads(DEFAULT_MARKETS.read_text())
    return {s["symbol"]: SymbolRules.from_exchange_info(s) for s in info["symbols"]
            if s["symbol"] in ("BTCUSDT", "ETHUSDT")}


class Book:
    """A settable book: bid one cent under the ask."""

    def __init__(self) -> None:
        self.ask = {"BTCUSDT": D("70000.01"), "ETHUSDT": D("2000.01")}

    def __call__(self, symbol: str, now: int) -> tuple[D, D]:
        return self.ask[symbol] - D("0.01"), self.ask[symbol]


def make(rules, tmp_path=None, **kw) -> tuple[ExchangeSimulator, Book]:
    book = Book()
    kw.setdefault("balances", {"USDT": D(10000)})
    ledger = tmp_path / "ledger.json" if tmp_path is not None else None
    return ExchangeSimulator(rules, book, ledger_path=ledger, **kw), book


def test_market_buy_pays_the_fee_in_the_coin_received_and_sell_in_quote(rules):
    sim, _ = make(rules)
    order, trades = sim.place("BTCUSDT", "BUY", "MARKET", 1000, qty=D("0.01"))
    assert order.status == "FILLED" and len(trades) == 1
    t = trades[0]
    assert (t.price, t.commission, t.commission_asset) == (D("70000.01"), D("0.00001"), "BTC")
    assert sim.balances.get_free("BTC") == D("0.00999")
    assert sim.balances.get_free("USDT") == D(10000) - D("700.0001")
    order, trades = sim.place("BTCUSDT", "SELL", "MARKET", 2000, qty=D("0.00999"))
    notional = D("0.00999") * D("70000.00")
    assert trades[0].commission_asset == "USDT" and trades[0].commission == (notional * D("0.001")).quantize(D("1e-8"))
    assert sim.balances.get_free("BTC") == 0
    assert sim.balances.get_locked("USDT") == 0


def test_fee_in_quote_mode(rules):
    sim, _ = make(rules, fee_asset="quote")
    _, trades = sim.place("ETHUSDT", "BUY", "MARKET", 1000, qty=D("1"))
    assert trades[0].commission_asset == "USDT" and trades[0].commission == D("2.00001")
    assert sim.balances.get_free("ETH") == 1
    assert sim.balances.get_free("USDT") == D(10000) - D("2000.01") - D("2.00001")


def test_filters_and_insufficient_balance_are_refused_without_moving_money(rules):
    sim, _ = make(rules)
    cases = [(dict(qty=D("0.00001")), FILTER_FAILURE, "NOTIONAL"),       # 0.7 USDT < 5
             (dict(qty=D("0.000015")), FILTER_FAILURE, "LOT_SIZE"),      # off the step
             (dict(qty=D("1")), INSUFFICIENT_BALANCE, None)]
    for kwargs, reason, detail in cases:
        with pytest.raises(Rejected) as e:
            sim.place("BTCUSDT", "BUY", "MARKET", 1000, **kwargs)
        assert e.value.reason == reason and (detail is None or e.value.detail == detail)
    with pytest.raises(Rejected) as e:
        sim.place("BTCUSDT", "BUY", "LIMIT", 1000, qty=D("0.001"), price=D("60000.001"))
    assert e.value.detail == "PRICE_FILTER"
    assert sim.balances.get_free("USDT") == 10000 and not sim.orders


def test_partial_fills_come_one_interval_apart_and_lock_what_is_left(rules):
    sim, book = make(rules, partial_fills=3)
    order, trades = sim.place("ETHUSDT", "BUY", "MARKET", 1000, qty=D("1"))
    assert order.status == "PARTIALLY_FILLED" and [t.qty for t in trades] == [D("0.3333")]
    assert sim.balances.get_locked("USDT") > 0
    book.ask["ETHUSDT"] = D("2010.00")
    sim.step(2000)
    assert sim.get_order("ETHUSDT", 2000, order.order_id).executed_qty == D("0.6666")
    sim.step(3000)
    done = sim.get_order("ETHUSDT", 3000, order.order_id)
    assert done.status == "FILLED" and done.executed_qty == 1
    assert [t.qty for t in sim.trades] == [D("0.3333"), D("0.3333"), D("0.3334")]
    assert sim.balances.get_locked("USDT") == 0
    assert sim.balances.get_free("USDT") == D(10000) - sum(t.quote_qty for t in sim.trades)


def test_limit_order_rests_until_the_price_crosses_and_can_be_cancelled(rules):
    sim, book = make(rules)
    order, trades = sim.place("ETHUSDT", "BUY", "LIMIT", 1000, qty=D("1"), price=D("1900"))
    assert order.status == "NEW" and not trades and sim.balances.get_locked("USDT") == 1900
    sim.step(2000)
    assert sim.get_order("ETHUSDT", 2000, order.order_id).status == "NEW"
    book.ask["ETHUSDT"] = D("1899.50")
    sim.step(3000)
    filled = sim.get_order("ETHUSDT", 3000, order.order_id)
    assert filled.status == "FILLED" and sim.trades[-1].price == D("1899.50")
    assert sim.balances.get_locked("USDT") == 0
    other, _ = sim.place("ETHUSDT", "SELL", "LIMIT", 4000, qty=D("0.5"), price=D("5000"))
    assert sim.balances.get_locked("ETH") == D("0.5")
    assert sim.cancel("ETHUSDT", 5000, other.order_id).status == "CANCELED"
    assert sim.balances.get_locked("ETH") == 0
    with pytest.raises(Rejected):
        sim.cancel("ETHUSDT", 5000, other.order_id)


@pytest.mark.parametrize("tif", ["IOC", "FOK"])
def test_immediate_limit_orders_fill_whole_at_once_or_expire(rules, tif):
    sim, _ = make(rules, partial_fills=3)
    missed, trades = sim.place("ETHUSDT", "BUY", "LIMIT", 1000, qty=D("1"), price=D("1900"), time_in_force=tif)
    assert missed.status == "EXPIRED" and not trades and sim.balances.get_locked("USDT") == 0
    hit, trades = sim.place("ETHUSDT", "BUY", "LIMIT", 1000, qty=D("1"), price=D("2100"), time_in_force=tif)
    assert hit.status == "FILLED" and [t.price for t in trades] == [D("2000.01")]
    assert sim.balances.get_locked("USDT") == 0


def test_halt_deposit_withdraw(rules):
    sim, _ = make(rules)
    sim.halt("ETHUSDT", True)
    with pytest.raises(Rejected) as e:
        sim.place("ETHUSDT", "BUY", "MARKET", 1000, qty=D("0.1"))
    assert e.value.reason == MARKET_CLOSED
    sim.halt("ETHUSDT", False)
    sim.place("ETHUSDT", "BUY", "MARKET", 1000, qty=D("0.1"))
    sim.deposit("USDT", D(5))
    with pytest.raises(Rejected):
        sim.withdraw("USDT", D(100000))
    sim.withdraw("USDT", sim.balances.get_free("USDT"))
    assert sim.balances.get_free("USDT") == 0
    with pytest.raises(Rejected) as e:
        sim.place("ETHUSDT", "BUY", "MARKET", 1000, qty=D("0.1"))
    assert e.value.reason == INSUFFICIENT_BALANCE


def test_ledger_survives_a_restart_and_wins_over_balances(rules, tmp_path):
    sim, _ = make(rules, tmp_path, partial_fills=2)
    sim.place("BTCUSDT", "BUY", "MARKET", 1000, qty=D("0.01"))
    sim.record_rejection({"code": -2010, "msg": "x"})
    again, _ = make(rules, tmp_path, partial_fills=2, balances={"USDT": D(1)})
    assert again.balances.to_dict() == sim.balances.to_dict()
    assert len(again.trades) == 1 and again.rejections == sim.rejections
    again.step(5000)  # the second part of the fill was still due
    assert again.get_order("BTCUSDT", 5000, 1).status == "FILLED"
    assert again.place("BTCUSDT", "SELL", "MARKET", 6000, qty=D("0.005"))[0].order_id == 2
    again.close()
    with open(tmp_path / "ledger.json", "a") as f:
        f.write('{"balances": {"USDT": {"fr')  # a kill in the middle of a write
    third, _ = make(rules, tmp_path)
    assert third.balances.to_dict() == again.balances.to_dict() and len(third.trades) == 3


def test_a_damaged_ledger_is_named(rules, tmp_path):
    (tmp_path / "ledger.json").write_text('{"version": 1}\nnot json\n{}\n')
    with pytest.raises(LedgerError, match="line 2"):
        make(rules, tmp_path)
    (tmp_path / "ledger.json").write_text('{"version": 7}\n')
    with pytest.raises(LedgerError, match="not a smartpf replay ledger"):
        make(rules, tmp_path)


def test_parse_balances():
    assert parse_balances(["USDT=10000", "btc=0.5", "USDT=1"]) == {"USDT": D(10001), "BTC": D("0.5")}
    for bad in ("USDT", "USDT=-1", "USDT=x", "=5"):
        with pytest.raises(ValueError, match="--balance"):
            parse_balances([bad])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["BTCUSDT", "ETHUSDT"]), st.sampled_from(["BUY", "SELL"]),
                          st.integers(1, 3000), st.integers(-50, 50)), max_size=25),
       st.sampled_from(["received", "quote"]), st.integers(1, 3))
def test_money_is_conserved_and_never_negative(rules, ops, fee_asset, parts):
    """Whatever is ordered: no balance goes negative, locks return to zero once nothing is open, and
    every unit of quote and base is accounted for by trades and fees."""
    sim, book = make(rules, fee_asset=fee_asset, partial_fills=parts)
    now = 0
    for symbol, side, steps, move in ops:
        now += 700
        book.ask[symbol] = max(D("1"), book.ask[symbol] * (1 + D(move) / 1000)).quantize(D("0.01"))
        qty = D(steps) * rules[symbol].step * (100 if symbol == "ETHUSDT" else 10)
        try:
            sim.place(symbol, side, "MARKET", now, qty=qty)
        except Rejected:
            pass
        for asset in sim.balances.assets():
            assert sim.balances.get_free(asset) >= 0 and sim.balances.get_locked(asset) >= 0
    sim.step(now + 10_000)
    assert all(not o.is_open for o in sim.orders.values())
    assert all(sim.balances.get_locked(a) == 0 for a in sim.balances.assets())
    usdt = D(10000)
    coins = {"BTC": D(0), "ETH": D(0)}
    for t in sim.trades:
        coin = t.symbol[:-4]
        fee_quote = t.commission if t.commission_asset == "USDT" else 0
        fee_base = t.commission if t.commission_asset == coin else 0
        if t.side == "BUY":
            usdt -= t.quote_qty + fee_quote
            coins[coin] += t.qty - fee_base
        else:
            usdt += t.quote_qty - fee_quote
            coins[coin] -= t.qty
    assert sim.balances.get_free("USDT") == usdt
    assert all(sim.balances.get_free(c) == v for c, v in coins.items())
