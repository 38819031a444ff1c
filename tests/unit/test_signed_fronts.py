"""OKX's and XT's signed spot APIs on the replay exchange (``--protocol okx|xt --accounts``), through the
real ccxt 4.5.90 over HTTP, with the credentials of user_data/config.replay-live-okx.json / -xt.json:
signatures (and their refusals), balances, market and limit orders with their fills and fees, open
orders, cancel, the order lists Freqtrade reads (fetch_orders), and each exchange's error codes."""

from __future__ import annotations

import json
import time
from decimal import Decimal

import ccxt
import pytest

from smartpf.replay.protocols import okx_private, xt_private
from smartpf.replay.runner import LIVE_CONFIGS, running_replay
from tests.support.exchanges import DATA

PAIRS = ["BTC/USDT", "XRP/USDT"]


def client(ex, **overrides):
    exchange = ex.config_for(LIVE_CONFIGS[ex.protocol])["exchange"]
    settings = {"apiKey": exchange["key"], "secret": exchange["secret"], **exchange["ccxt_config"], **overrides}
    if exchange.get("password"):
        settings["password"] = exchange["password"]
    c = getattr(ccxt, exchange["name"])(settings)
    c.load_markets()
    return c


@pytest.fixture(scope="module", params=["okx", "xt"])
def front(request):
    with running_replay(protocol=request.param, markets=DATA / f"{request.param}.json", pairs=PAIRS,
                        timeframes=["1m"], clock="replay", accounts=True,
                        balances={"USDT": 10000, "XRP": 100}) as ex:
        yield ex


def test_the_live_configs_hold_the_default_credentials():
    okx = json.loads(LIVE_CONFIGS["okx"].read_text())["exchange"]
    xt = json.loads(LIVE_CONFIGS["xt"].read_text())["exchange"]
    assert (okx["key"], okx["secret"], okx["password"]) == (okx_private.DEFAULT_API_KEY,
                                                            okx_private.DEFAULT_API_SECRET,
                                                            okx_private.DEFAULT_PASSPHRASE)
    assert (xt["key"], xt["secret"]) == (xt_private.DEFAULT_API_KEY, xt_private.DEFAULT_API_SECRET)
    for name in ("okx", "xt"):
        assert json.loads(LIVE_CONFIGS[name].read_text())["dry_run"] is False


def test_balance_market_buy_fills_and_fees_in_the_coin_received(front):
    c = client(front)
    balance = c.fetch_balance()
    assert balance["USDT"]["free"] == pytest.approx(10000) and balance["XRP"]["total"] == pytest.approx(100)
    price = c.fetch_ticker("XRP/USDT")["last"]
    # as Freqtrade places a market buy (XT: priced, so ccxt sends the quote amount)
    placed = c.create_order("XRP/USDT", "market", "buy", 200, price)
    order = c.fetch_order(placed["id"], "XRP/USDT")
    assert order["status"] == "closed" and order["side"] == "buy" and order["type"] == "market"
    assert order["filled"] > 0 and order["average"] > 0
    assert order["fee"]["currency"] == "XRP" and order["fee"]["cost"] == pytest.approx(order["filled"] * 0.001)
    if front.protocol == "okx":
        assert order["filled"] == pytest.approx(200)  # sz in the base coin (ccxt's default tgtCcy)
    else:
        assert order["filled"] * order["average"] == pytest.approx(200 * price, rel=0.01)  # by quote amount
    trades = c.fetch_my_trades("XRP/USDT", since=order["timestamp"] - 1000)
    mine = [t for t in trades if t["order"] == placed["id"]]
    assert len(mine) == 1 and mine[0]["fee"]["currency"] == "XRP"
    assert float(mine[0]["fee"]["cost"]) == pytest.approx(order["fee"]["cost"])
    account = front.account()
    ledger_order = next(o for o in account["orders"] if str(o["orderId"]) == placed["id"])
    assert Decimal(ledger_order["executedQty"]) == Decimal(str(order["filled"]))
    after = c.fetch_balance()
    assert after["XRP"]["total"] == pytest.approx(100 + order["filled"] - order["fee"]["cost"])
    # ... and Freqtrade's order list (fetch_orders, or its emulation on OKX) holds it
    listed = (c.fetch_orders("XRP/USDT", since=order["timestamp"] - 1000) if front.protocol == "xt"
              else c.fetch_closed_orders("XRP/USDT", since=order["timestamp"] - 1000))
    assert placed["id"] in {o["id"] for o in listed}


def test_limit_order_rests_is_listed_open_and_cancelled(front):
    c = client(front)
    price = c.fetch_ticker("BTC/USDT")["last"]
    placed = c.create_order("BTC/USDT", "limit", "buy", 0.001, round(price * 0.5, 1))
    assert c.fetch_order(placed["id"], "BTC/USDT")["status"] == "open"
    assert placed["id"] in {o["id"] for o in c.fetch_open_orders("BTC/USDT")}
    assert c.fetch_balance()["USDT"]["used"] > 0
    c.cancel_order(placed["id"], "BTC/USDT")
    assert c.fetch_order(placed["id"], "BTC/USDT")["status"] == "canceled"
    assert placed["id"] not in {o["id"] for o in c.fetch_open_orders("BTC/USDT")}
    assert c.fetch_balance()["USDT"]["used"] == pytest.approx(0)


def test_errors_carry_the_exchanges_codes(front):
    c = client(front)
    price = c.fetch_ticker("BTC/USDT")["last"]
    with pytest.raises(ccxt.InsufficientFunds):
        c.create_order("BTC/USDT", "market", "sell", 1, price)
    with pytest.raises(ccxt.InvalidOrder):  # below the minimum
        c.create_order("XRP/USDT", "market", "sell", 0.0001 if front.protocol == "xt" else 0.01, price)
    missing = ccxt.OrderNotFound if front.protocol == "okx" else ccxt.InvalidOrder  # XT: ORDER_005 is InvalidOrder
    with pytest.raises(missing):
        c.fetch_order("999999", "BTC/USDT")
    assert front.account()["rejections"]  # the refused placements are on the ledger
    with pytest.raises(ccxt.AuthenticationError):  # OKX already at load_markets (its currencies are signed)
        client(front, secret="not-the-secret").fetch_balance()
    stale = client(front)
    stale.options["timeDifference"] = 120_000  # two minutes behind: outside every window
    with pytest.raises((ccxt.AuthenticationError, ccxt.InvalidNonce)):
        stale.fetch_balance()
    assert not front.state()["unknown_paths"]


def test_a_lost_answer_leaves_the_order_on_the_exchange(front):
    """The order fault strikes the protocol's placement path: filled, then the connection closed."""
    c = client(front)
    before = len(front.account()["orders"])
    front.set_faults(lost_response_rate=1.0)
    try:
        price = c.fetch_ticker("XRP/USDT")["last"]
        with pytest.raises(ccxt.InsufficientFunds):  # a refusal (OKX: HTTP 200, code "1") is answered, not lost
            c.create_order("XRP/USDT", "market", "buy", 1_000_000, price)
        assert front.state()["faults"]["responses_lost"] == 0
        with pytest.raises(ccxt.NetworkError):
            c.create_order("XRP/USDT", "market", "buy", 20, price)
    finally:
        front.set_faults(lost_response_rate=0.0)
    time.sleep(0.1)
    orders = front.account()["orders"]
    assert len(orders) == before + 1 and orders[-1]["status"] == "FILLED"
    assert front.state()["faults"]["responses_lost"] >= 1
