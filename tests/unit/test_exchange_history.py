"""Operation ids unique for the portfolio's whole life, and the exchange's history as the truth (issue 18 items 2
and 4), without Freqtrade running: client order ids, the start check's reading of the exchange's orders, the
export's sequence, and the core's ``seen_seq`` / ``recovered``."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smartpf.freqtrade import client_ids, history
from smartpf.freqtrade.reconcile import owner_of
from smartpf.freqtrade.statefile import export_path, write_state
from smartpf_core import Engine, Fill, Order, Snapshot
from tests.support.helpers import RULES, make_spec, started, tick

PID = "0123456789ab"
PRICES = {"BTC/USDT": 100.0, "ETH/USDT": 10.0}


@given(st.sampled_from(["init", "rb", "dep", "wd", "exit"]), st.integers(1, 10**7), st.sampled_from(["buy", "sell"]),
       st.sampled_from(["BTC/USDT", "ETH/USDT", "1000SATS/USDT", "BTC/FDUSD"]))
def test_a_client_order_id_round_trips_and_fits_every_exchange(kind, seq, side, pair):
    order_id = f"{kind}{seq}:{side}:{pair}@{PID}"
    cid = client_ids.client_order_id(order_id)
    assert cid is not None and cid.isalnum() and len(cid) <= 32  # OKX: 32 letters and digits; Binance: 36
    tagged = client_ids.parse(cid)
    assert tagged is not None and tagged.order_id(pair) == order_id and tagged.seq == seq


def test_the_orders_of_one_operation_get_different_client_ids():
    """Every coin of a basket is bought in one operation and, filled in parts, several are open at once: the
    exchange refuses a client id already open (Binance -2010 'Duplicate order sent', OKX 51016), so the ids
    must differ by pair, and an id read back names only the pair it was sent for."""
    pairs = ["BTC/USDT", "ETH/USDT", "SOL/USDT", "XRP/USDT", "1000SATS/USDT", "BTC/FDUSD", "ETH/BTC"]
    ids = [client_ids.client_order_id(f"init1:buy:{p}@{PID}") for p in pairs]
    assert len(set(ids)) == len(pairs), ids
    tagged = client_ids.parse(ids[0])
    assert tagged is not None and tagged.names("BTC/USDT") and not tagged.names("ETH/USDT")
    assert client_ids.ours([order("1", "ETH/USDT", "buy", ids[0])], PID) == []  # BTC's id on ETH: not ours
    old = client_ids.parse(f"spf{PID}init1b")  # sent before the pair was part of the id: still ours, on any pair
    assert old is not None and old.names("ETH/USDT") and old.order_id("ETH/USDT") == f"init1:buy:ETH/USDT@{PID}"


def test_ids_without_a_portfolio_and_foreign_client_ids_are_not_ours():
    assert client_ids.client_order_id("rb3:sell:ETH/USDT") is None  # a backtest's
    for foreign in (None, "", "x-TKT5PX2F22ecb58eb9074fb1be018c", "web_123", f"spf{PID}rb3x", "spfshortrb3s"):
        assert client_ids.parse(foreign) is None


def order(oid, pair, side, cid, filled=1.0, ts=1000):
    return {"id": oid, "symbol": pair, "side": side, "filled": filled, "status": "closed", "timestamp": ts * 1000,
            "clientOrderId": cid, "average": 100.0, "datetime": "2026-12-05T00:00:00Z"}


def test_the_start_finds_this_portfolios_orders_the_database_lost():
    """An older copy of the database (the portfolio at rest after the basket) while the exchange holds the basket
    (known), a later rebalance (lost) and orders of others (ignored)."""
    engine = started()
    engine.identify(PID)
    orders = {"BTC/USDT": [order("1", "BTC/USDT", "buy", f"spf{PID}init1b"),
                           order("4", "BTC/USDT", "buy", f"spf{PID}rb2b", ts=1100),
                           order("5", "BTC/USDT", "buy", "spfffffffffffffrb9b"),  # another portfolio's
                           order("6", "BTC/USDT", "buy", "x-byhand")],  # by hand
              "ETH/USDT": [order("2", "ETH/USDT", "buy", f"spf{PID}init1b"),
                           order("3", "ETH/USDT", "sell", f"spf{PID}rb2s", ts=1090),
                           order("7", "ETH/USDT", "sell", f"spf{PID}rb3s", filled=0.0)]}  # rejected: no fill
    lost, highest = history.lost_orders(engine, orders, known={"1", "2"})
    assert [o["id"] for o, _ in lost] == ["3", "4"] and highest == 3
    assert [t.order_id(o["symbol"]) for o, t in lost] == [f"rb2:sell:ETH/USDT@{PID}", f"rb2:buy:BTC/USDT@{PID}"]
    text = history.refusal(engine, lost, "sqlite:///x")
    assert "is behind the exchange" in text and "order 3 (sell 1.0 ETH/USDT" in text and history.RESOLVE in text


def test_the_engines_own_outstanding_order_is_left_to_the_first_loop_and_adopted_only_as_itself():
    engine = Engine(make_spec(), RULES, portfolio_id=PID)
    buys = engine.step(Snapshot(1000, PRICES)).orders
    btc = next(o for o in buys if o.pair == "BTC/USDT")
    mine = order("1", "BTC/USDT", "buy", client_ids.client_order_id(btc.id), ts=1001)
    lost, _ = history.lost_orders(engine, {"BTC/USDT": [mine]}, known=set())
    assert lost == []  # a lost answer of the order under way: adopted by the first loop
    assert owner_of(engine, mine, 1000) == btc
    later = order("9", "BTC/USDT", "buy", f"spf{PID}rb2b", ts=1001)  # same pair and side, another operation
    assert owner_of(engine, later, 1000) is None
    unnamed = order("8", "BTC/USDT", "buy", None, ts=1001)  # an exchange without client ids: as before
    assert owner_of(engine, unnamed, 1000) == btc


def test_the_export_keeps_the_highest_sequence_and_a_bad_export_is_ignored(tmp_path):
    engine = started()
    engine.identify(PID)
    assert history.export_seq(str(tmp_path), PID) == 0
    write_state(export_path(tmp_path, PID), {"portfolio_id": PID, "engine": {"seq": 7}})
    assert history.export_seq(str(tmp_path), PID) == 7
    write_state(export_path(tmp_path, PID), {"portfolio_id": "another", "engine": {"seq": 70}})
    assert history.export_seq(str(tmp_path), PID) == 0
    for junk in ("null", "[1]", '{"portfolio_id": "0123456789ab", "engine": {"seq": "9"}}', "{"):
        export_path(tmp_path, PID).write_text(junk)
        assert history.export_seq(str(tmp_path), PID) == 0


def test_an_operation_a_later_one_followed_is_never_sent_and_its_number_never_handed_out_again():
    """Issue 18 item 4: a restored copy holds rebalance rb2 under way; the portfolio's later life reached 5."""
    engine = started(make_spec(price_guard=None))
    sells = tick(engine, 1000, {"BTC/USDT": 130.0, "ETH/USDT": 10.0}, fill=False).orders
    assert sells and engine.op is not None and engine.seq == 2
    dropped = engine.corrections.seen_seq(5)
    assert dropped == [o.id for o in sells] and engine.seq == 5
    decision = engine.step(Snapshot(1060, {"BTC/USDT": 130.0, "ETH/USDT": 10.0}))
    assert all(not o.id.startswith("rb2:") for o in decision.orders)
    later = tick(engine, 1200, {"BTC/USDT": 130.0, "ETH/USDT": 10.0}, fill=False).orders
    assert later and all(o.op_id == "rb6" for o in later)
    assert engine.corrections.seen_seq(3) == [] and engine.seq == 6  # never goes back


def test_a_recovered_rebalance_is_booked_once_and_its_cash_moves():
    engine = started()
    cash, btc, eth = engine.cash, engine.holdings["BTC/USDT"], engine.holdings["ETH/USDT"]
    sell = Order(f"rb2:sell:ETH/USDT@{PID}", "rb2", "ETH/USDT", "sell", 5.0, 10.0)
    buy = Order(f"rb2:buy:BTC/USDT@{PID}", "rb2", "BTC/USDT", "buy", 0.49, 100.0)
    record = engine.corrections.recovered("rb2", [(sell, Fill(sell.id, 5.0, 10.0, 0.05, 900)),
                                      (buy, Fill(buy.id, 0.49, 100.0, 0.049, 901))], 1000)
    assert record.kind == "rebalance" and record.trigger == "recovered" and len(record.trades) == 2
    assert engine.cash == pytest.approx(cash + 50 - 0.05 - 49 - 0.049)
    assert engine.holdings == pytest.approx({"BTC/USDT": btc + 0.49, "ETH/USDT": eth - 5.0})
    assert engine.seq == 2 and engine.invested == 1000
    deposit = Order(f"dep3:buy:BTC/USDT@{PID}", "dep3", "BTC/USDT", "buy", 1.0, 100.0)
    engine.corrections.recovered("dep3", [(deposit, Fill(deposit.id, 1.0, 100.0, 0.1, 950))], 1000)
    assert engine.invested == pytest.approx(1100.1) and engine.seq == 3  # paid by the money deposited
    assert engine.cash == pytest.approx(cash + 50 - 0.05 - 49 - 0.049)
