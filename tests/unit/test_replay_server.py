"""The real server (subprocess): Binance-shaped errors, robustness, admin endpoint, fault injection."""

import json
import signal
import subprocess
import sys
import time
import urllib.request

import pytest

from smartpf.paths import DEFAULT_DATADIR
from smartpf.replay.runner import running_replay


@pytest.mark.parametrize("path, params, status, code", [
    ("/api/v3/klines", {"symbol": "NOPEUSDT", "interval": "1h"}, 400, -1121),
    ("/api/v3/klines", {"symbol": "btcusdt", "interval": "1h"}, 400, -1121),
    ("/api/v3/klines", {"symbol": "BTCUSDT", "interval": "7h"}, 400, -1120),
    ("/api/v3/klines", {"symbol": "BTCUSDT"}, 400, -1102),
    ("/api/v3/klines", {"interval": "1h"}, 400, -1102),
    ("/api/v3/klines", {"symbol": "BTCUSDT", "interval": "1h", "limit": "abc"}, 400, -1100),
    ("/api/v3/klines", {"symbol": "BTCUSDT", "interval": "1h", "limit": "0"}, 400, -1130),
    ("/api/v3/klines", {"symbol": "BTCUSDT", "interval": "1h", "startTime": "9", "endTime": "1"}, 400, -1023),
    ("/api/v3/depth", {"symbol": "NOPEUSDT"}, 400, -1121),
    ("/api/v3/ticker/24hr", {"symbol": "NOPEUSDT"}, 400, -1121),
    ("/api/v3/ticker/24hr", {"symbols": "not-json"}, 400, -1100),
    ("/api/v3/ticker/24hr", {"symbols": '["BTCUSDT","NOPEUSDT"]'}, 400, -1121),
    ("/api/v3/ticker/price", {"symbol": "BTCUSDT", "symbols": '["BTCUSDT"]'}, 400, -1128),
    ("/api/v3/account", {}, 401, -2015),
])
def test_binance_shaped_errors(replay_history, path, params, status, code):
    got_status, body = replay_history.get(path, **params)
    assert got_status == status
    assert body["code"] == code and isinstance(body["msg"], str) and body["msg"]


def test_unknown_pairs_and_paths_do_not_crash_the_server(replay_history):
    for _ in range(3):
        assert replay_history.get("/api/v3/klines", symbol="NOPEUSDT", interval="1m")[0] == 400
    assert replay_history.get("/api/v3/definitelyNotAnEndpoint")[0] == 404
    assert replay_history.get("/api/v3/ping") == (200, {})
    assert replay_history.alive()
    state = replay_history.state()
    assert state["unknown_paths"]["/api/v3/definitelyNotAnEndpoint"] >= 1
    assert "unknown path" in replay_history.log_text()


def test_public_endpoints(replay_history):
    status, t = replay_history.get("/api/v3/time")
    assert status == 200 and abs(t["serverTime"] - time.time() * 1000) < 60_000
    status, info = replay_history.get("/api/v3/exchangeInfo")
    with_candles = {f.name.split("-")[0].replace("_", "") for f in DEFAULT_DATADIR.glob("*.feather")}
    assert status == 200 and info["timezone"] == "UTC"
    assert {s["symbol"] for s in info["symbols"]} == with_candles  # 17 in ../shared, fewer from `make data`
    status, one = replay_history.get("/api/v3/exchangeInfo", symbol="ETHUSDT")
    assert [s["symbol"] for s in one["symbols"]] == ["ETHUSDT"]
    status, tickers = replay_history.get("/api/v3/ticker/24hr")
    assert status == 200 and len(tickers) == len(with_candles)
    status, two = replay_history.get("/api/v3/ticker/24hr", symbols='["BTCUSDT","ETHUSDT"]')
    assert [t["symbol"] for t in two] == ["BTCUSDT", "ETHUSDT"]
    assert float(two[0]["lowPrice"]) <= float(two[0]["lastPrice"]) <= float(two[0]["highPrice"])
    status, price = replay_history.get("/api/v3/ticker/price", symbol="BTCUSDT")
    assert status == 200 and float(price["price"]) > 0
    status, book = replay_history.get("/api/v3/ticker/bookTicker", symbol="BTCUSDT")
    assert round(float(book["askPrice"]) - float(book["bidPrice"]), 2) == 0.01
    status, depth = replay_history.get("/api/v3/depth", symbol="BTCUSDT", limit=5)
    assert len(depth["bids"]) == 5 and len(depth["asks"]) == 5
    status, kl = replay_history.get("/api/v3/klines", symbol="BTCUSDT", interval="1h")
    assert len(kl) == 500
    status, kl = replay_history.get("/api/v3/klines", symbol="BTCUSDT", interval="1h", limit=5000)
    assert len(kl) == 1000
    assert replay_history.get("/api/v3/avgPrice", symbol="BTCUSDT")[0] == 200


def test_admin_outage_frozen_and_latency():
    with running_replay(clock="replay", pairs=["BTC/USDT"], timeframes=["1m"], warmup=100) as ex:
        assert ex.get("/api/v3/ticker/price", symbol="BTCUSDT")[0] == 200
        state = ex.set_faults(outage=True)
        assert state["faults"]["outage_active"]
        status, body = ex.get("/api/v3/ticker/price", symbol="BTCUSDT")
        assert status == 503 and body["code"] == -1008
        ex.set_faults(outage=False, frozen=True)
        first = ex.get("/api/v3/klines", symbol="BTCUSDT", interval="1m", limit=1)[1]
        time.sleep(1.2)
        assert ex.get("/api/v3/klines", symbol="BTCUSDT", interval="1m", limit=1)[1] == first
        assert ex.state()["faults"]["frozen_active"]
        ex.set_faults(frozen=False, latency_ms=300, latency_paths=["/api/v3/depth"])
        t = time.monotonic()
        ex.get("/api/v3/ticker/price", symbol="BTCUSDT")
        fast = time.monotonic() - t
        t = time.monotonic()
        ex.get("/api/v3/depth", symbol="BTCUSDT", limit=5)
        slow = time.monotonic() - t
        assert fast < 0.25 <= 0.3 <= slow + 0.01
        with pytest.raises(ValueError, match="fail_rate"):
            ex.set_faults(fail_rate=3)


def test_fail_rate_answers_binance_shaped_failures():
    with running_replay(clock="history", pairs=["BTC/USDT"], timeframes=["1h"], fail_rate=0.5, seed=1) as ex:
        statuses = [ex.get("/api/v3/ping")[0] for _ in range(60)]
        assert 15 < sum(s != 200 for s in statuses) < 45
        assert set(statuses) <= {200, 500, 503, 429}
        assert ex.state()["faults"]["failures_injected"] == sum(s != 200 for s in statuses)


def test_scenario_outage_window():
    scenario = {"events": [{"outage": {"from": "0s", "to": "2s"}}]}
    with running_replay(clock="replay", pairs=["ETH/USDT"], timeframes=["1m"], warmup=10,
                        scenario=scenario) as ex:
        status = ex.get("/api/v3/ping")[0]
        started = ex.state()["started"]
        if time.time() * 1000 - started < 1500:
            assert status == 503
        time.sleep(max(0.0, (started + 2100) / 1000 - time.time()))
        assert ex.get("/api/v3/ping")[0] == 200


def _serve(*args):
    return subprocess.Popen([sys.executable, "-m", "smartpf.replay", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


@pytest.mark.parametrize("args, option", [
    (["--clock", "sometimes"], "--clock"),
    (["--start", "yesterday", "--clock", "replay"], "--start"),
    (["--start", "2001-01-01", "--clock", "replay", "--pairs", "BTC/USDT", "--timeframes", "1h"], "--start"),
    (["--fail-rate", "1.5"], "--fail-rate"),
    (["--fail-rate", "lots"], "--fail-rate"),
    (["--latency", "-5"], "--latency"),
    (["--port", "99999"], "--port"),
    (["--datadir", "/nonexistent/dir"], "--datadir"),
    (["--markets", "/nonexistent/file.json"], "--markets"),
    (["--scenario", "/nonexistent/s.json"], "--scenario"),
    (["--pairs", "NOPE/USDT"], "--pairs"),
    (["--timeframes", "7h"], "--timeframes"),
])
def test_bad_arguments_give_one_line_and_exit_2(args, option):
    proc = _serve(*args)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and option in lines[0] and "Traceback" not in err, err


def test_bad_scenario_content_is_one_line(tmp_path):
    path = tmp_path / "s.json"
    path.write_text(json.dumps({"events": [{"pair": "ETH/USDT", "at": "soon", "change_pct": 5}]}))
    proc = _serve("--clock", "replay", "--scenario", str(path), "--pairs", "ETH/USDT", "--timeframes", "1m")
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 2 and len(err.strip().splitlines()) == 1 and "at" in err


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signals_stop_cleanly_with_exit_0(sig):
    proc = _serve("--port", "0", "--pairs", "BTC/USDT", "--timeframes", "1h")
    line = proc.stdout.readline()
    assert line.startswith("smartpf replay: serving 1 pairs (1h) on http://127.0.0.1:") and "clock=history" in line
    url = line.split(" on ", 1)[1].split()[0]
    with urllib.request.urlopen(url + "/api/v3/ping", timeout=5) as resp:
        assert resp.status == 200
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=15)
    assert proc.returncode == 0 and "Traceback" not in err


def test_scenario_jump_moves_the_ticker_in_replay():
    scenario = {"flat": True, "events": [{"pair": "ETH/USDT", "at": "5s", "change_pct": 20}]}
    with running_replay(clock="replay", pairs=["ETH/USDT", "BTC/USDT"], timeframes=["1m"], warmup=10,
                        scenario=scenario) as ex:
        started = ex.state()["started"]
        before = float(ex.get("/api/v3/ticker/price", symbol="ETHUSDT")[1]["price"])
        btc_before = ex.get("/api/v3/ticker/price", symbol="BTCUSDT")[1]["price"]
        assert time.time() * 1000 - started < 5000, "server answered too slowly for this test"
        time.sleep(max(0.0, (started + 5200) / 1000 - time.time()))
        after = float(ex.get("/api/v3/ticker/price", symbol="ETHUSDT")[1]["price"])
        assert after == pytest.approx(before * 1.2, abs=0.02)
        assert ex.get("/api/v3/ticker/price", symbol="BTCUSDT")[1]["price"] == btc_before  # flat
        kl = ex.get("/api/v3/klines", symbol="ETHUSDT", interval="1m", limit=1)[1][0]
        assert float(kl[4]) == pytest.approx(after, abs=0.02) and float(kl[2]) >= after
