"""Binance's signed spot API on the replay exchange (``--accounts``), through the real ccxt over HTTP:
signatures, balances, orders with fills, errors with Binance's codes and texts, the admin account
endpoints, the ledger across a restart, and the command-line checks."""

from __future__ import annotations

import hashlib
import hmac
import json
import subprocess
import sys
import time
import urllib.error
import urllib.request

import ccxt
import pytest

from smartpf.replay.protocols import binance
from smartpf.replay.runner import REPLAY_LIVE_CONFIG, running_replay

PAIRS = ["BTC/USDT", "ETH/USDT"]


def client(ex, **overrides) -> ccxt.binance:
    exchange = ex.config_for(REPLAY_LIVE_CONFIG)["exchange"]
    settings = {"apiKey": exchange["key"], "secret": exchange["secret"], **exchange["ccxt_config"], **overrides}
    c = ccxt.binance(settings)
    c.load_markets()
    return c


@pytest.fixture(scope="module")
def live():
    with running_replay(clock="replay", pairs=PAIRS, accounts=True, balances={"USDT": 10000}) as ex:
        yield ex


def signed(ex, method: str, path: str, params: dict, secret: str = binance.DEFAULT_API_SECRET,
           key: str | None = binance.DEFAULT_API_KEY) -> tuple[int, dict]:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    sig = hmac.new(secret.encode(), query.encode(), hashlib.sha256).hexdigest()
    headers = {"X-MBX-APIKEY": key} if key else {}
    req = urllib.request.Request(f"{ex.url}{path}?{query}&signature={sig}", method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        raw = e.read()
        return e.code, (json.loads(raw) if raw else None)


def test_the_live_config_holds_the_default_credentials():
    config = json.loads(REPLAY_LIVE_CONFIG.read_text())
    assert config["dry_run"] is False
    assert (config["exchange"]["key"], config["exchange"]["secret"]) == (binance.DEFAULT_API_KEY,
                                                                           binance.DEFAULT_API_SECRET)
    assert config["exchange"]["ccxt_config"]["options"]["fetchCurrencies"] is False
    assert "127.0.0.1:8765" in json.dumps(config["exchange"]["ccxt_config"])


def test_market_order_round_trip_through_ccxt(live):
    c = client(live)
    before = c.fetch_balance()["total"].get("USDT")
    order = c.create_order("BTC/USDT", "market", "buy", 0.002)
    assert order["status"] == "closed" and order["filled"] == 0.002
    assert order["fee"] == {"currency": "BTC", "cost": 0.000002}  # fee in the coin received
    trades = c.fetch_my_trades("BTC/USDT")
    assert trades[-1]["order"] == order["id"] and trades[-1]["fee"]["currency"] == "BTC"
    fetched = c.fetch_order(order["id"], "BTC/USDT")
    assert fetched["status"] == "closed" and fetched["cost"] == pytest.approx(order["cost"])
    balance = c.fetch_balance()
    assert balance["total"]["BTC"] == pytest.approx(0.001998)
    assert balance["total"]["USDT"] == pytest.approx(before - order["cost"], abs=1e-8)
    sell = c.create_order("BTC/USDT", "market", "sell", 0.00199)
    assert sell["fee"]["currency"] == "USDT" and sell["fee"]["cost"] == pytest.approx(sell["cost"] * 0.001, abs=1e-8)
    ids = [o["id"] for o in c.fetch_orders("BTC/USDT")]
    assert order["id"] in ids and sell["id"] in ids
    account = live.account()
    row = next(o for o in account["orders"] if o["orderId"] == int(order["id"]))
    assert {k: row[k] for k in ("symbol", "side", "type", "status", "origQty", "executedQty")} == {
        "symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "status": "FILLED", "origQty": "0.00200000",
        "executedQty": "0.00200000"}
    assert {"cummulativeQuoteQty", "clientOrderId", "time"} <= set(row)
    assert account["balances"]["BTC"] == {"free": "0.00000800", "locked": "0.00000000"}


def test_limit_order_rests_locks_and_cancels(live):
    c = client(live)
    usdt = c.fetch_balance()["USDT"]
    order = c.create_order("ETH/USDT", "limit", "buy", 0.1, 100)
    assert order["status"] == "open"
    assert [o["id"] for o in c.fetch_open_orders("ETH/USDT")] == [order["id"]]
    assert c.fetch_balance()["USDT"]["used"] == pytest.approx(usdt["used"] + 10.0)
    assert c.cancel_order(order["id"], "ETH/USDT")["status"] == "canceled"
    assert c.fetch_balance()["USDT"]["free"] == pytest.approx(usdt["free"])
    with pytest.raises(ccxt.OrderNotFound):
        c.cancel_order(order["id"], "ETH/USDT")
    with pytest.raises(ccxt.OrderNotFound):
        c.fetch_order("999999", "ETH/USDT")


def test_rejections_carry_binance_codes_and_texts_and_are_recorded(live):
    c = client(live)
    with pytest.raises(ccxt.InsufficientFunds, match="Account has insufficient balance for requested action."):
        c.create_order("ETH/USDT", "market", "buy", 100)
    with pytest.raises(ccxt.BadRequest, match='"code":-1013,"msg":"Filter failure: NOTIONAL"'):
        c.create_order("ETH/USDT", "market", "buy", 0.0001)
    live.halt("ETHUSDT", True)
    try:
        with pytest.raises(ccxt.MarketClosed, match="Market is closed."):
            c.create_order("ETH/USDT", "market", "buy", 0.01)
    finally:
        live.halt("ETHUSDT", False)
    live.set_filters("ETHUSDT", {"LOT_SIZE": {"stepSize": "0.01000000"}})
    try:
        with pytest.raises(ccxt.InvalidOrder, match="Filter failure: LOT_SIZE"):
            c.create_order("ETH/USDT", "market", "buy", 0.0123)
    finally:
        live.set_filters("ETHUSDT", {"LOT_SIZE": {"stepSize": "0.00010000"}})
    recorded = [(r["code"], r["msg"]) for r in live.account()["rejections"]]
    assert recorded[-4:] == [(-2010, "Account has insufficient balance for requested action."),
                             (-1013, "Filter failure: NOTIONAL"), (-1013, "Market is closed."),
                             (-1013, "Filter failure: LOT_SIZE")]
    assert "order rejected ETHUSDT BUY MARKET" in live.log_text()


def test_authentication_like_binance(live):
    now = int(time.time() * 1000)
    assert signed(live, "GET", "/api/v3/account", {"timestamp": now})[0] == 200
    assert signed(live, "GET", "/api/v3/account", {"timestamp": now}, secret="wrong") == (
        400, {"code": -1022, "msg": "Signature for this request is not valid."})
    assert signed(live, "GET", "/api/v3/account", {"timestamp": now}, key="other") == (
        401, {"code": -2015, "msg": "Invalid API-key, IP, or permissions for action."})
    assert signed(live, "GET", "/api/v3/account", {"timestamp": now}, key=None)[1]["code"] == -2014
    assert signed(live, "GET", "/api/v3/account", {"timestamp": now - 10_000}) == (
        400, {"code": -1021, "msg": "Timestamp for this request is outside of the recvWindow."})
    assert signed(live, "GET", "/api/v3/account", {"timestamp": now - 10_000, "recvWindow": 20000})[0] == 200
    assert signed(live, "GET", "/api/v3/account", {"timestamp": now + 5_000})[1]["code"] == -1021
    assert signed(live, "GET", "/api/v3/account", {})[1]["code"] == -1102
    assert signed(live, "GET", "/api/v3/order", {"symbol": "XXXUSDT", "orderId": 1, "timestamp": now})[1] == {
        "code": -1121, "msg": "Invalid symbol."}
    with pytest.raises(ccxt.AuthenticationError):
        client(live, secret="not-the-secret").fetch_balance()


def test_unknown_signed_paths_are_loud(live):
    status, _ = signed(live, "GET", "/api/v3/openOrderList", {"timestamp": int(time.time() * 1000)})
    assert status == 404
    assert "unknown path GET /api/v3/openOrderList" in live.log_text()
    assert live.state()["unknown_paths"]["/api/v3/openOrderList"] >= 1


def test_admin_moves_and_bad_input(live):
    before = float(live.account()["balances"]["USDT"]["free"])
    live.deposit("USDT", 100)
    live.withdraw("USDT", 50)
    assert float(live.account()["balances"]["USDT"]["free"]) == pytest.approx(before + 50)
    for path, body in (("/_smartpf/withdraw", {"asset": "USDT", "amount": 10**9}),
                       ("/_smartpf/deposit", {"asset": "USDT", "amount": "x"}),
                       ("/_smartpf/deposit", {"asset": "USDT", "amount": -1}),
                       ("/_smartpf/halt", {"symbol": "ETHUSDT", "halted": "yes"}),
                       ("/_smartpf/halt", {"symbol": "NOPE", "halted": True})):
        status, answer = live.post(path, body)
        assert status == 400 and path in answer["msg"], (path, body, answer)
    assert live.alive()


def test_an_amount_the_account_cannot_hold_is_refused_and_changes_nothing(live):
    """1e308 (and NaN, infinity, negative, zero, finer than 8 decimals, beyond the most a balance holds) answers
    400 naming the path; the balances are unchanged and the account endpoints keep answering."""
    before = live.account()["balances"]
    bodies = [{"asset": "USDT", "amount": 1e308}, {"asset": "USDT", "amount": "1e308"},
              {"asset": "ETH", "amount": "NaN"}, {"asset": "USDT", "amount": "Infinity"},
              {"asset": "USDT", "amount": "-5"}, {"asset": "USDT", "amount": 0},
              {"asset": "USDT", "amount": "1e-20"}, {"asset": "USDT", "amount": "1e16"},
              {"asset": "USDT", "amount": True}, {"asset": "USDT", "amount": None}]
    for path in ("/_smartpf/deposit", "/_smartpf/withdraw"):
        for body in bodies:
            status, answer = live.post(path, body)
            assert status == 400 and path in answer["msg"], (path, body, status, answer)
    status, answer = live.post("/_smartpf/deposit", {"asset": "USDT", "amount": "999999999999999"})
    assert status == 400 and "most one balance may hold" in answer["msg"]  # 1e15 with what is already there
    assert live.account()["balances"] == before
    assert signed(live, "GET", "/api/v3/account", {"timestamp": int(time.time() * 1000)})[0] == 200
    assert client(live).fetch_balance()["USDT"]["free"] == pytest.approx(float(before["USDT"]["free"]))


def test_partial_fills_and_the_ledger_survive_a_restart(tmp_path):
    ledger = tmp_path / "ledger.json"
    with running_replay(clock="replay", pairs=PAIRS, accounts=True, partial_fills=3, ledger=ledger) as ex:
        c = client(ex)
        order = c.create_order("ETH/USDT", "market", "buy", 0.3)
        assert order["status"] == "open" and order["filled"] == pytest.approx(0.1)
        deadline = time.monotonic() + 10
        while c.fetch_order(order["id"], "ETH/USDT")["status"] != "closed":
            assert time.monotonic() < deadline
            time.sleep(0.2)
        assert len(c.fetch_my_trades("ETH/USDT")) == 3
        first = ex.account()
    with running_replay(clock="replay", pairs=PAIRS, accounts=True, ledger=ledger, balances={"USDT": 5}) as ex:
        again = ex.account()
        assert again["balances"] == first["balances"] and again["trades"] == first["trades"]
        assert client(ex).create_order("ETH/USDT", "market", "sell", 0.1)["id"] == str(int(order["id"]) + 1)


def test_without_accounts_signed_endpoints_answer_like_a_keyless_binance(replay_history):
    status, body = replay_history.get("/api/v3/account")
    assert (status, body["code"]) == (401, -2015)
    assert replay_history.get("/_smartpf/account")[0] == 404


@pytest.mark.parametrize("args, option", [
    (["--balance", "USDT=5"], "--balance"),
    (["--accounts", "--fee-asset", "bnb"], "--fee-asset"),
    (["--accounts", "--partial-fills", "0"], "--partial-fills"),
    (["--accounts", "--fee", "2"], "--fee"),
    (["--accounts", "--balance", "USDT"], "--balance"),
    (["--accounts", "--api-key", "k"], "--api-key"),
    (["--accounts", "--ledger", "/nonexistent/dir/ledger.json"], "--ledger"),
])
def test_bad_account_options_give_one_line_and_exit_2(args, option):
    proc = subprocess.run([sys.executable, "-m", "smartpf.replay", "--port", "0", "--pairs", "BTC/USDT", *args],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert option in proc.stderr and len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
