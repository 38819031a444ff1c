"""The exchange model on real data, in process: klines paging, replay visibility, tickers, scenario."""

import numpy as np
import pandas as pd
import pytest

from smartpf.paths import DEFAULT_DATADIR, DEFAULT_MARKETS
from smartpf.replay.exchange.clock import history_clock, parse_iso, replay_clock
from smartpf.replay.exchange.data import load_market_data
from smartpf.replay.exchange.market import Market
from smartpf.replay.exchange.scenario import parse_scenario

M, H = 60_000, 3_600_000
PAIRS = ["BTC/USDT", "ETH/USDT"]


@pytest.fixture(scope="module")
def loaded(shared_data):
    return load_market_data(DEFAULT_DATADIR, DEFAULT_MARKETS, PAIRS, ["1m", "1h"])


def test_markets_limited_to_pairs_with_candles(loaded):
    info, pairs = loaded
    assert [s["symbol"] for s in info["symbols"]] == ["BTCUSDT", "ETHUSDT"]
    assert pairs["BTCUSDT"].tick == 0.01 and pairs["BTCUSDT"].step == 0.00001
    assert set(pairs["ETHUSDT"].series) == {"1m", "1h"}


def test_history_klines_match_the_file_and_page_without_gaps_or_overlap(loaded):
    info, pairs = loaded
    m = Market(info, pairs, history_clock(0))
    src = pd.read_feather(DEFAULT_DATADIR / "BTC_USDT-1h.feather")
    start = parse_iso("2024-01-01")
    rows, since = [], start
    for _ in range(3):  # like ccxt paging: startTime = last open + 1 candle
        page = m.klines(pairs["BTCUSDT"], "1h", since, None, 1000, now=0)
        assert len(page) == 1000
        rows += page
        since = page[-1][0] + H
    opens = np.array([r[0] for r in rows])
    assert len(set(opens.tolist())) == 3000 and (np.diff(opens) > 0).all()
    want = src[src["date"] >= pd.Timestamp(start, unit="ms", tz="UTC")].head(3000)
    assert opens.tolist() == [int(d.timestamp() * 1000) for d in want["date"]]
    assert [float(r[4]) for r in rows] == want["close"].tolist()
    assert all(r[6] == r[0] + H - 1 and len(r) == 12 and r[11] == "0" for r in rows)


def test_klines_limits_and_end_time(loaded):
    info, pairs = loaded
    m = Market(info, pairs, history_clock(0))
    btc = pairs["BTCUSDT"]
    assert len(m.klines(btc, "1h", None, None, 500, 0)) == 500
    last = m.klines(btc, "1h", None, None, 1, 0)[0]
    assert last[0] == btc.series["1h"].open_time[-1]
    end = parse_iso("2024-01-01")
    page = m.klines(btc, "1h", None, end, 10, 0)
    assert page[-1][0] == end and len(page) == 10
    both = m.klines(btc, "1h", end, end + 5 * H, 1000, 0)
    assert [r[0] for r in both] == [end + i * H for i in range(6)]
    assert m.klines(btc, "1h", 0, None, 1, 0)[0][0] == btc.series["1h"].first_open  # listing probe
    assert m.klines(btc, "1h", parse_iso("2030-01-01"), None, 10, 0) == []
    assert len(m.klines(btc, "4h", end, None, 3, 0)) == 3  # derived from 1h
    assert m.klines(btc, "1M", None, None, 3, 0) == []


def test_replay_serves_nothing_after_now_and_a_partial_current_candle(loaded):
    info, pairs = loaded
    start = parse_iso("2026-04-01T10:00Z")
    t0 = parse_iso("2026-11-25T21:00:00Z")
    clock = replay_clock(t0, start, H)
    m = Market(info, pairs, clock)
    btc = pairs["BTCUSDT"]
    now = t0 + 30 * M + 30_000  # 10:30:30 in history
    rows = m.klines(btc, "1m", None, None, 1000, now)
    assert rows[-1][0] == t0 + 30 * M  # the current candle is the one containing now
    assert all(r[0] <= now for r in rows) and len(rows) == 1000
    src = btc.series["1m"]
    i = int(np.searchsorted(src.open_time, start + 30 * M))
    cur = rows[-1]
    assert float(cur[1]) == src.o[i]
    assert src.low[i] <= float(cur[3]) <= float(cur[4]) <= float(cur[2]) <= src.h[i]
    assert float(rows[-2][4]) == src.c[i - 1]  # the previous candle is complete and real
    hour = m.klines(btc, "1h", None, None, 2, now)
    assert hour[-1][0] == t0 and float(hour[-1][4]) == float(cur[4])  # built from the 1m candles
    tk = m.ticker_24h(btc, now)
    assert tk["lastPrice"] == cur[4] or abs(float(tk["lastPrice"]) - float(cur[4])) <= btc.tick
    assert float(tk["askPrice"]) - float(tk["bidPrice"]) == pytest.approx(btc.tick)
    assert src.low[i] <= float(tk["bidPrice"]) and float(tk["askPrice"]) <= src.h[i] + btc.tick
    later = m.klines(btc, "1m", None, None, 1, now + 60_000)
    assert later[0][0] == t0 + 31 * M


def test_depth_is_a_plausible_book(loaded):
    info, pairs = loaded
    m = Market(info, pairs, history_clock(0))
    eth = pairs["ETHUSDT"]
    book = m.depth(eth, 20, 0)
    bids, asks = [[float(x) for x in b] for b in book["bids"]], [[float(x) for x in a] for a in book["asks"]]
    assert len(bids) == len(asks) == 20
    assert asks[0][0] - bids[0][0] == pytest.approx(eth.tick)
    assert all(b1[0] > b2[0] for b1, b2 in zip(bids, bids[1:], strict=False))
    assert bids[0][0] * bids[0][1] > 10_000  # the top level alone fills a normal order


def test_flat_scenario_with_a_jump(loaded):
    info, pairs = loaded
    t0 = parse_iso("2026-11-25T21:00:00Z")
    sc = parse_scenario({"flat": True, "events": [{"pair": "ETH/USDT", "at": "2m", "change_pct": 20}]},
                        set(pairs))
    m = Market(info, pairs, replay_clock(t0, parse_iso("2026-04-01T10:00Z"), H), sc)
    eth = pairs["ETHUSDT"]
    p0 = m.flat_price(eth)
    before = float(m.ticker_24h(eth, t0 + 90_000)["lastPrice"])
    after = float(m.ticker_24h(eth, t0 + 150_000)["lastPrice"])
    assert before == pytest.approx(p0, abs=eth.tick)
    assert after == pytest.approx(p0 * 1.2, abs=eth.tick)
    rows = m.klines(eth, "1m", None, None, 3, t0 + 150_000)
    assert float(rows[0][4]) == pytest.approx(p0, abs=eth.tick)  # 21:00 candle: flat
    assert float(rows[-1][4]) == pytest.approx(p0 * 1.2, abs=eth.tick)  # 21:02 candle: jumped
    btc = pairs["BTCUSDT"]
    assert float(m.ticker_24h(btc, t0 + 600_000)["lastPrice"]) == pytest.approx(m.flat_price(btc), abs=btc.tick)
