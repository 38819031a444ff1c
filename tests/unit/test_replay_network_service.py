"""The replay exchange as a network service, tried with raw sockets: every malformed request gets an
HTTP error (never a traceback and a silent close), idle and half-sent connections time out, the
threads are bounded, and off loopback the admin endpoints need a token. Then the order faults through
the real ccxt: a lost answer (the order filled, the client sees a network error at once), 5xx, 429
with Retry-After, -1021, and a market order that expires after a partial fill."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time

import ccxt
import pytest

from smartpf.replay.runner import running_replay
from tests.unit.test_replay_binance_accounts import client

PAIRS = ["BTC/USDT", "ETH/USDT"]


@pytest.fixture(scope="module")
def service():
    with running_replay(clock="replay", pairs=PAIRS, accounts=True, balances={"USDT": 10000}, idle_timeout=1,
                        max_connections=8) as ex:
        yield ex


def raw(ex, data: bytes, wait: float = 5.0) -> bytes:
    """Send bytes, read until the server closes or ``wait`` passes."""
    with socket.create_connection((ex.host, ex.port), timeout=wait) as s:
        s.sendall(data)
        out = b""
        try:
            while chunk := s.recv(65536):
                out += chunk
                if b"\r\n\r\n" in out and b"Connection: close" not in out and len(out) > 200:
                    break
        except TimeoutError:
            pass
    return out


def status_of(answer: bytes) -> int:
    assert answer.startswith(b"HTTP/1."), answer[:200]
    return int(answer.split(b" ", 2)[1])


@pytest.mark.parametrize("length, status", [(b"abc", 400), (b"-5", 400), (b"100000000000", 413),
                                            (b"99999999999999999999999", 400)])
def test_bad_content_length_gets_an_http_error(service, length, status):
    answer = raw(service, b"POST /_smartpf/faults HTTP/1.1\r\nHost: x\r\nContent-Length: " + length + b"\r\n\r\n")
    assert status_of(answer) == status
    assert b'"code"' in answer
    assert "Traceback" not in service.log_text()


@pytest.mark.parametrize("request_bytes", [b"GARBAGE\r\n\r\n", b"GET\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n",
                                           b"GET /" + b"a" * 70000 + b" HTTP/1.1\r\n\r\n",
                                           b"GET / HTTP/1.1\r\n" + b"X: " + b"b" * 70000 + b"\r\n\r\n"])
def test_malformed_requests_get_an_http_error(service, request_bytes):
    assert 400 <= status_of(raw(service, request_bytes)) < 600


def threads_of(ex) -> int:
    status = open(f"/proc/{ex.process.pid}/status").read()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("Threads:")))


def test_half_sent_requests_time_out_and_threads_stay_bounded(service):
    idle = threads_of(service)
    socks = []
    for _ in range(100):  # far more than max_connections (8), each half-sent
        s = socket.create_connection((service.host, service.port), timeout=5)
        s.sendall(b"POST /_smartpf/faults HTTP/1.1\r\nContent-Length: 50\r\n\r\n{")
        socks.append(s)
    time.sleep(0.5)
    assert threads_of(service) <= idle + 8  # one thread per served connection, no more
    busy = 0
    for s in socks:
        s.settimeout(0.2)
        try:
            if s.recv(100).startswith(b"HTTP/1.1 503"):
                busy += 1
        except (TimeoutError, OSError):
            pass
    assert busy >= 100 - 8  # beyond the bound: answered 503 at once
    time.sleep(2.0)  # past the idle timeout: the half-sent ones are closed, the server serves again
    for s in socks:
        s.close()
    assert service.get("/api/v3/ping")[0] == 200
    assert status_of(raw(service, b"GET /api/v3/ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")) == 200
    assert threads_of(service) <= idle + 1


def test_idle_connection_is_closed(service):
    with socket.create_connection((service.host, service.port), timeout=5) as s:
        started = time.monotonic()
        assert s.recv(10) == b""  # closed by the server, without a word
        assert time.monotonic() - started < 4


def test_off_loopback_the_admin_endpoints_need_the_token():
    token = "a-long-enough-token"
    with running_replay(clock="replay", pairs=PAIRS, accounts=True, extra_args=["--host", "0.0.0.0"],
                        admin_token=token) as ex:
        ex.host = "127.0.0.1"
        ex.url = f"http://127.0.0.1:{ex.port}"
        assert ex.get("/_smartpf/account")[0] == 200  # with the token
        ex.token = None
        for path in ("/_smartpf/account", "/_smartpf/state"):
            status, body = ex.get(path)
            assert status == 401 and "X-Smartpf-Token" in body["msg"]
        assert ex.post("/_smartpf/withdraw", {"asset": "USDT", "amount": 1})[0] == 401
        assert ex.get("/api/v3/ping")[0] == 200  # the public API stays open


def test_off_loopback_without_a_token_one_is_made_up():
    with running_replay(clock="replay", pairs=PAIRS, extra_args=["--host", "0.0.0.0"]) as ex:
        ex.url = f"http://127.0.0.1:{ex.port}"
        assert ex.get("/_smartpf/state")[0] == 401
        time.sleep(0.2)
        line = next(x for x in ex.log_text().splitlines() if "X-Smartpf-Token:" in x)
        ex.token = line.rsplit(" ", 1)[1]
        assert ex.get("/_smartpf/state")[0] == 200


# ------------------------------------------------------------------------------------ order faults
@pytest.fixture
def faulty():
    with running_replay(clock="replay", pairs=PAIRS, accounts=True, balances={"USDT": 10000}, seed=1) as ex:
        yield ex


def test_lost_answer_the_order_filled_and_the_client_gets_a_network_error_at_once(faulty):
    c = client(faulty)
    faulty.set_faults(lost_response_rate=1.0)
    started = time.monotonic()
    with pytest.raises(ccxt.NetworkError):
        c.create_order("BTC/USDT", "market", "buy", 0.001)
    assert time.monotonic() - started < 3  # at once, not a timeout
    faulty.set_faults(lost_response_rate=0.0)
    orders = faulty.account()["orders"]
    assert [(o["side"], o["status"]) for o in orders] == [("BUY", "FILLED")]  # the exchange acted
    assert c.fetch_orders("BTC/USDT")[0]["filled"] == pytest.approx(0.001)
    assert faulty.state()["faults"]["responses_lost"] == 1


@pytest.mark.parametrize("kind, status, error", [("5xx", 503, ccxt.ExchangeError),
                                                 ("429", 429, ccxt.DDoSProtection),
                                                 ("-1021", 400, ccxt.BaseError)])
def test_order_errors_leave_nothing_on_the_exchange(faulty, kind, status, error):
    c = client(faulty)
    faulty.set_faults(order_error_rate=1.0, order_errors=[kind])
    with pytest.raises(error):
        c.create_order("BTC/USDT", "market", "buy", 0.001)
    answer = raw(faulty, b"POST /api/v3/order HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert status_of(answer) == status
    if kind == "429":
        assert b"Retry-After: 1" in answer
    faulty.set_faults(order_error_rate=0.0)
    assert faulty.account()["orders"] == []
    assert c.create_order("BTC/USDT", "market", "buy", 0.001)["status"] == "closed"


def test_market_order_expires_after_a_partial_fill(faulty):
    c = client(faulty)
    faulty.set_faults(expire_after_partial=True)
    order = c.create_order("ETH/USDT", "market", "buy", 0.1)
    assert order["status"] == "expired" and order["filled"] == pytest.approx(0.05)
    balances = faulty.account()["balances"]
    assert float(balances["USDT"]["locked"]) == 0  # the rest is released


def test_bad_fault_settings_are_refused(faulty):
    for bad in ({"lost_response_rate": 2}, {"order_errors": ["418"]}, {"expire_after_partial": "yes"}):
        status, body = faulty.post("/_smartpf/faults", bad)
        assert status == 400 and "Invalid fault settings" in body["msg"]


def test_concurrent_clients_still_served(service):
    results = []

    def ping():
        results.append(service.get("/api/v3/ping")[0])

    threads = [threading.Thread(target=ping) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [200] * 6


@pytest.mark.parametrize("args, option", [(["--lost-response-rate", "2"], "--lost-response-rate"),
                                          (["--order-errors", "418"], "--order-errors"),
                                          (["--idle-timeout", "0"], "--idle-timeout"),
                                          (["--admin-token", "short"], "--admin-token")])
def test_bad_fault_and_service_options_give_one_line_and_exit_2(args, option):
    result = subprocess.run([sys.executable, "-m", "smartpf.replay", "--port", "0", "--pairs", "BTC/USDT", *args],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2, result.stderr
    assert option in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
