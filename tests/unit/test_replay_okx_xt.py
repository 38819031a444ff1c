"""The OKX and XT public front ends of the replay exchange (``--protocol okx|xt``): envelopes,
each exchange's candle paging, its error shapes (also for injected faults), unknown paths answered
404 and logged, and the command line refusing what cannot work."""

from __future__ import annotations

import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smartpf.replay.runner import running_replay
from tests.support.exchanges import DATA

H = 3_600_000
JAN1 = 1_704_067_200_000  # 2024-01-01T00:00Z
BTC_JAN1 = ["42283.58000000", "42554.57000000", "42261.02000000", "42475.23000000", "1271.68108000"]


@pytest.fixture(scope="module")
def okx():
    with running_replay(protocol="okx", markets=DATA / "okx.json", pairs=["BTC/USDT", "XRP/USDT"],
                        timeframes=["1h"]) as ex:
        yield ex


@pytest.fixture(scope="module")
def xt():
    with running_replay(protocol="xt", markets=DATA / "xt.json", pairs=["BTC/USDT", "XRP/USDT"],
                        timeframes=["1h"]) as ex:
        yield ex


# ----------------------------------------------------------------------------------- OKX
def test_okx_instruments_are_the_files_raw_entries_spot_only(okx):
    status, body = okx.get("/api/v5/public/instruments", instType="SPOT")
    assert status == 200 and body["code"] == "0"
    assert {i["instId"] for i in body["data"]} == {"BTC-USDT", "XRP-USDT"}
    btc = next(i for i in body["data"] if i["instId"] == "BTC-USDT")
    assert btc["tickSz"] == "0.1" and btc["lotSz"] == "0.00000001" and btc["minSz"] == "0.00001"
    assert okx.get("/api/v5/public/instruments", instType="SWAP")[1]["data"] == []
    assert okx.get("/api/v5/public/instruments")[1]["code"] == "50014"


def test_okx_history_candles_page_backwards_newest_first(okx):
    status, body = okx.get("/api/v5/market/history-candles", instId="BTC-USDT", bar="1H", limit=3,
                           after=JAN1 + 3 * H, before=JAN1 - 1)
    rows = body["data"]
    assert status == 200 and [int(r[0]) for r in rows] == [JAN1 + 2 * H, JAN1 + H, JAN1]  # after/before exclusive
    assert rows[-1][1:6] == BTC_JAN1 and rows[-1][8] == "1"
    # ccxt's request for Freqtrade's 300-candle page: before = since - 1, after = since + 300 bars
    page = okx.get("/api/v5/market/history-candles", instId="BTC-USDT", bar="1H", limit=300,
                   before=JAN1 - 1, after=JAN1 + 300 * H)[1]["data"]
    assert len(page) == 300 and int(page[0][0]) == JAN1 + 299 * H and int(page[-1][0]) == JAN1
    capped = okx.get("/api/v5/market/history-candles", instId="BTC-USDT", bar="1H", limit=1000,
                     after=JAN1 + 1000 * H)[1]["data"]
    assert len(capped) == 300 and int(capped[0][0]) == JAN1 + 999 * H


def test_okx_recent_candles_only_serve_the_latest_1440_bars(okx):
    latest = okx.get("/api/v5/market/candles", instId="BTC-USDT", bar="1H", limit=2)[1]["data"]
    assert len(latest) == 2 and int(latest[0][0]) - int(latest[1][0]) == H
    assert okx.get("/api/v5/market/candles", instId="BTC-USDT", bar="1H", after=JAN1 + 5 * H)[1]["data"] == []
    older = okx.get("/api/v5/market/history-candles", instId="BTC-USDT", bar="1H", after=JAN1 + 5 * H)[1]["data"]
    assert len(older) == 100 and int(older[0][0]) == JAN1 + 4 * H  # OKX's default limit


def test_okx_errors_and_unknown_paths(okx):
    assert okx.get("/api/v5/market/ticker", instId="NOPE-USDT") == (
        400, {"code": "51001", "msg": "Instrument ID, Instrument ID code, or Spread ID doesn't exist.", "data": []})
    status, body = okx.get("/api/v5/market/candles", instId="BTC-USDT", bar="1D")
    assert status == 400 and body["code"] == "51000"
    assert "okx bar 1D (Hong Kong time) is not served; use 1Dutc" in okx.log_text()
    assert okx.get("/api/v5/market/candles", instId="BTC-USDT", bar="1Dutc", limit=1)[1]["code"] == "0"
    assert okx.get("/api/v5/account/balance")[0] == 404
    assert okx.get("/api/v3/ticker/price", symbol="BTCUSDT")[0] == 404  # no Binance paths under okx
    assert "unknown path GET /api/v5/account/balance" in okx.log_text()
    assert okx.state()["unknown_paths"]["/api/v5/account/balance"] == 1


def test_okx_ticker_and_book_agree(okx):
    t = okx.get("/api/v5/market/ticker", instId="BTC-USDT")[1]["data"][0]
    book = okx.get("/api/v5/market/books", instId="BTC-USDT", sz=5)[1]["data"][0]
    assert t["instType"] == "SPOT" and float(t["bidPx"]) < float(t["askPx"])
    assert book["bids"][0][0] == t["bidPx"] and book["asks"][0][0] == t["askPx"] and len(book["asks"]) == 5
    assert len(okx.get("/api/v5/market/tickers", instType="SPOT")[1]["data"]) == 2


def test_okx_faults_speak_okx(okx):
    okx.set_faults(outage=True)
    try:
        assert okx.get("/api/v5/market/ticker", instId="BTC-USDT")[1]["code"] == "50001"
    finally:
        okx.set_faults(outage=False)


# ----------------------------------------------------------------------------------- XT
def test_xt_symbols_futures_lists_and_currencies(xt):
    body = xt.get("/v4/public/symbol")[1]
    assert body["rc"] == 0 and body["mc"] == "SUCCESS"
    assert {s["symbol"] for s in body["result"]["symbols"]} == {"btc_usdt", "xrp_usdt"}
    for host in ("/fapi", "/dapi"):
        assert xt.get(f"{host}/future/market/v1/public/symbol/list")[1]["result"] == []
    coins = {c["currency"] for c in xt.get("/v4/public/currencies")[1]["result"]["currencies"]}
    assert coins == {"btc", "xrp", "usdt"}


def test_xt_kline_pages_forward_from_start_time(xt):
    rows = xt.get("/v4/public/kline", symbol="btc_usdt", interval="1h", startTime=JAN1, limit=3)[1]["result"]
    assert [r["t"] for r in rows] == [JAN1, JAN1 + H, JAN1 + 2 * H]
    assert [rows[0][k] for k in ("o", "h", "l", "c", "q")] == BTC_JAN1
    ended = xt.get("/v4/public/kline", symbol="btc_usdt", interval="1h", startTime=JAN1, endTime=JAN1 + H,
                   limit=10)[1]["result"]
    assert [r["t"] for r in ended] == [JAN1, JAN1 + H]  # endTime inclusive
    assert len(xt.get("/v4/public/kline", symbol="btc_usdt", interval="1h", startTime=JAN1,
                      limit=5000)[1]["result"]) == 1000


def test_xt_ticker_has_no_bid_ask_but_the_book_has(xt):
    t = xt.get("/v4/public/ticker/24h", symbol="btc_usdt")[1]["result"][0]
    assert "bp" not in t and "ap" not in t and float(t["c"]) > 0
    book = xt.get("/v4/public/depth", symbol="btc_usdt", limit=3)[1]["result"]
    top = xt.get("/v4/public/ticker/book", symbol="btc_usdt")[1]["result"][0]
    assert book["asks"][0][0] == top["ap"] and book["bids"][0][0] == top["bp"] and len(book["bids"]) == 3


def test_xt_errors_faults_and_unknown_paths(xt):
    assert xt.get("/v4/public/ticker/24h", symbol="nope_usdt")[1] == {"rc": 1, "mc": "SYMBOL_001", "ma": [],
                                                                      "result": None}
    assert xt.get("/v4/order")[0] == 404 and "unknown path GET /v4/order" in xt.log_text()
    xt.set_faults(outage=True)
    try:
        status, body = xt.get("/v4/public/time")
        assert status == 503 and body["rc"] == 1 and body["mc"] == "503"
    finally:
        xt.set_faults(outage=False)


# ----------------------------------------------------------------------------------- command line
@pytest.mark.parametrize("args, words", [
    (["--protocol", "kraken"], "--protocol 'kraken': must be one of binance, okx, xt"),
    (["--protocol", "okx"], "--protocol okx needs a ccxt markets file of okx"),  # the default Binance exchangeInfo
    (["--protocol", "xt", "--markets", str(DATA / "okx.json")], "has no xt instrument"),
    # the signed OKX and XT APIs are served now (tests/unit/test_signed_fronts.py); a passphrase is OKX's only
    (["--protocol", "xt", "--markets", str(DATA / "xt.json"), "--accounts", "--api-passphrase", "p"],
     "--api-passphrase: only with --protocol okx"),
])
def test_bad_protocol_setups_give_one_line_and_exit_2(args, words):
    proc = subprocess.run([sys.executable, "-m", "smartpf.replay", "--port", "0", "--timeframes", "1h", *args],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and words in lines[0] and "Traceback" not in proc.stderr, proc.stderr


# ----------------------------------------------------------------------------------- paging invariants
@pytest.fixture(scope="module")
def fronts():
    """Both front ends in process over one history-clock market (BTC/USDT 1h)."""
    import time

    from smartpf.paths import DEFAULT_DATADIR
    from smartpf.replay.exchange.clock import history_clock
    from smartpf.replay.exchange.data import load_market_data
    from smartpf.replay.exchange.market import Market
    from smartpf.replay.protocols.okx import OkxPublic
    from smartpf.replay.protocols.xt import XtPublic

    out = {}
    for name, cls in (("okx", OkxPublic), ("xt", XtPublic)):
        info, pairs = load_market_data(DEFAULT_DATADIR, DATA / f"{name}.json", ["BTC/USDT"], ["1h"])
        market = Market(info, pairs, history_clock(int(time.time() * 1000)))
        out[name] = cls(market, DATA / f"{name}.json")
    return out


@settings(max_examples=60, deadline=None)
@given(since=st.integers(JAN1 - 400 * H, JAN1 + 2000 * H), span=st.integers(0, 700), limit=st.integers(1, 400))
def test_okx_window_is_the_newest_candles_strictly_inside(fronts, since, span, limit):
    okx = fronts["okx"]
    series = okx.market.pairs["BTCUSDT"].series["1h"].open_time
    after, before = since + span * H, since - 1
    rows = okx.route("GET", "/api/v5/market/history-candles", {"instId": "BTC-USDT", "bar": "1H",
                     "after": str(after), "before": str(before), "limit": str(limit)}, JAN1 + 10**12)[1]["data"]
    inside = [int(t) for t in series if before < t < after]
    assert [int(r[0]) for r in rows] == sorted(inside, reverse=True)[:min(limit, 300)]


@settings(max_examples=60, deadline=None)
@given(start=st.integers(JAN1 - 400 * H, JAN1 + 2000 * H), limit=st.integers(1, 1500))
def test_xt_pages_cover_history_without_gap_or_overlap(fronts, start, limit):
    xt = fronts["xt"]
    series = xt.market.pairs["BTCUSDT"].series["1h"].open_time
    q = {"symbol": "btc_usdt", "interval": "1h", "startTime": str(start), "limit": str(limit)}
    first = [r["t"] for r in xt.route("GET", "/v4/public/kline", q, JAN1 + 10**12)[1]["result"]]
    assert first == [int(t) for t in series if t >= start][:min(limit, 1000)]
    if first:  # the next page starts right after the last candle served
        q["startTime"] = str(first[-1] + 1)
        nxt = xt.route("GET", "/v4/public/kline", q, JAN1 + 10**12)[1]["result"]
        following = [int(t) for t in series if t > first[-1]]
        assert [r["t"] for r in nxt[:1]] == following[:1]


# ----------------------------------------------------------------------------------- configs
def test_the_protocol_configs_are_dry_run_and_point_every_url_here():
    import json

    from smartpf.replay.runner import CONFIG_ADDRESS, PROTOCOL_CONFIGS

    for protocol, path in PROTOCOL_CONFIGS.items():
        config = json.loads(path.read_text())
        exchange = config["exchange"]
        assert config["dry_run"] is True and exchange["enable_ws"] is False and exchange["name"] == protocol
        for key in ("ccxt_config", "ccxt_async_config"):
            urls = exchange[key]["urls"]["api"]
            assert urls and all(u.startswith(f"http://{CONFIG_ADDRESS}") for u in urls.values()), (protocol, key)
    okx = json.loads(PROTOCOL_CONFIGS["okx"].read_text())["exchange"]["ccxt_config"]
    assert okx["options"]["fetchMarkets"] == {"types": ["spot"]}
    xt = json.loads(PROTOCOL_CONFIGS["xt"].read_text())
    assert set(xt["exchange"]["ccxt_config"]["urls"]["api"]) == {"spot", "linear", "inverse", "user"}
    assert xt["entry_pricing"]["use_order_book"] and xt["exit_pricing"]["use_order_book"]


@pytest.mark.parametrize("protocol", ["okx", "xt"])
def test_faults_reach_ccxt_as_retryable_network_errors(protocol, okx, xt):
    """An outage and injected failures become ccxt errors that Freqtrade turns into TemporaryError and
    retries (its fetch_ticker catches ccxt.OperationFailed and ccxt.ExchangeError); an outage is OnMaintenance."""
    import ccxt

    ex = {"okx": okx, "xt": xt}[protocol]
    api = getattr(ccxt, protocol)(ex.config_for()["exchange"]["ccxt_config"])
    api.load_markets()
    assert api.fetch_ticker("BTC/USDT")["last"] > 0
    try:
        ex.set_faults(outage=True)
        with pytest.raises(ccxt.OnMaintenance):
            api.fetch_ticker("BTC/USDT")
        ex.set_faults(outage=False, fail_rate=1.0, seed=3)
        for _ in range(5):
            with pytest.raises((ccxt.OperationFailed, ccxt.ExchangeError)):
                api.fetch_ticker("BTC/USDT")
    finally:
        ex.set_faults(outage=False, fail_rate=0.0)
    assert api.fetch_ticker("BTC/USDT")["last"] > 0
