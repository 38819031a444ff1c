"""HTTP plumbing of the replay exchange: connections, faults, admin endpoints, and dispatch to the
protocol front end (``smartpf.replay.protocols.binance``), which answers Binance's API.

With ``--protocol okx|xt`` a public-API front end (``smartpf.replay.protocols``) answers instead of the
Binance routes below, and faults are worded in its error shape; unknown paths stay a loud 404.

A ``ThreadingHTTPServer`` with HTTP/1.1 keep-alive: one thread per connection, read-only market
arrays, so concurrent ccxt requests never wait on each other. Signed endpoints are answered by the
exchange simulator's accounts when the server runs with ``--accounts``, otherwise like Binance does
without a valid key.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from smartpf.replay.exchange.amounts import dec
from smartpf.replay.exchange.clock import iso
from smartpf.replay.exchange.market import Market
from smartpf.replay.exchange.simulator import Rejected
from smartpf.replay.faults import OUTAGE, FaultError, Faults
from smartpf.replay.protocols import binance
from smartpf.replay.protocols.public import PublicFront
from smartpf.replay.protocols.wire import dumps

ADMIN_PREFIX = "/_smartpf/"


class ReplayState:
    """Everything the handler threads share: the market, the faults, the scenario and counters."""

    def __init__(self, market: Market, faults: Faults, log_requests: bool = False,
                 accounts: binance.BinanceSpot | None = None, public: PublicFront | None = None) -> None:
        self.market = market
        self.public = public  # the OKX or XT public front end, None for Binance
        self.faults = faults
        self.log_requests = log_requests
        self.accounts = accounts  # the signed API in front of the exchange simulator (--accounts)
        self.requests: Counter[str] = Counter()
        self.unknown: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()
        self._lock = threading.Lock()

    def count(self, counter: Counter[str], key: str) -> None:
        with self._lock:
            counter[key] += 1

    # --------------------------------------------------------------------- time and faults
    def rel(self, now: int) -> int:
        return now - self.market.clock.started_ms

    def effective_now(self, now: int) -> int:
        """Real time as the market sees it: frozen windows hold it at their start."""
        eff = now
        if self.faults.frozen_at is not None:
            eff = min(eff, self.faults.frozen_at)
        for w in self.market.scenario.active("frozen", self.rel(now)):
            eff = min(eff, self.market.clock.started_ms + w.from_ms)
        return eff

    def in_outage(self, now: int) -> bool:
        return self.faults.outage or bool(self.market.scenario.active("outage", self.rel(now)))

    def latency_ms(self, path: str, now: int) -> int:
        ms = self.faults.latency_for(path)
        for w in self.market.scenario.active("latency", self.rel(now)):
            if w.paths is None or path in w.paths:
                ms = max(ms, w.ms)
        return ms

    def snapshot(self, now: int) -> dict:
        m = self.market
        clock = m.clock
        eff = self.effective_now(now)
        with self._lock:
            requests, unknown, errors = dict(self.requests), dict(self.unknown), dict(self.errors)
        return {
            "clock": clock.mode,
            "now": now,
            "effective_now": eff,
            "started": clock.started_ms,
            "shift_ms": clock.shift_ms,
            "start": iso(clock.start_hist_ms) if clock.start_hist_ms is not None else None,
            "replay_time": iso(clock.to_hist(eff)) if clock.replay else None,
            "pairs": [p.pair for p in m.pairs.values()],
            "timeframes": m.timeframes(),
            "scenario": {"flat": m.scenario.flat, "events": len(m.scenario.events),
                         "windows": [w.kind for w in m.scenario.windows]},
            "faults": self.faults.snapshot() | {"outage_active": self.in_outage(now),
                                                 "frozen_active": eff != now},
            "requests": requests,
            "unknown_paths": unknown,
            "errors": errors,
        }


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; with Nagle on, delayed ACKs add ~40 ms per answer.
    disable_nagle_algorithm = True
    server_version = "smartpf-replay"
    sys_version = ""
    state: ReplayState  # set on the subclass made by make_server

    # --------------------------------------------------------------------- plumbing
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        if self.state.log_requests:
            sys.stderr.write("smartpf replay: %s\n" % (format % args))

    def _send(self, status: int, body: bytes, extra: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json;charset=UTF-8")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _error(self, status: int, code: int, msg: str, path: str) -> None:
        self.state.count(self.state.errors, f"{status} {code} {path}")
        extra = {"Retry-After": "1"} if status == 429 else None
        public = self.state.public
        body = public.error_body(status, code, msg) if public is not None else {"code": code, "msg": msg}
        self._send(status, dumps(body), extra)

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        self._dispatch()

    def do_POST(self) -> None:  # noqa: N802
        self._dispatch()

    def do_DELETE(self) -> None:  # noqa: N802
        self._dispatch()

    def do_PUT(self) -> None:  # noqa: N802
        self._dispatch()

    def _dispatch(self) -> None:
        st = self.state
        url = urlsplit(self.path)
        path = url.path.rstrip("/") or "/"
        body = b""
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            body = self.rfile.read(length)
        try:
            if path.startswith(ADMIN_PREFIX.rstrip("/")):
                self._admin(path, body)
                return
            now = int(time.time() * 1000)
            st.count(st.requests, path)
            delay = st.latency_ms(path, now)
            if delay:
                time.sleep(delay / 1000)
            if st.in_outage(now):
                self._error(*OUTAGE, path)
                return
            failure = st.faults.draw_failure()
            if failure is not None:
                self._error(failure.status, failure.code, failure.msg, path)
                return
            if st.public is not None:
                self._public(path, url.query, st.effective_now(now))
                return
            if binance.is_private(path):
                if st.accounts is not None:
                    self._private(path, url.query, body, now)
                    return
                st.count(st.unknown, path)  # no --accounts: answered like a request without a valid key
                sys.stderr.write(f"smartpf replay: private endpoint {path} requested (no account here)\n")
                raise binance.INVALID_KEY
            q = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
            try:
                status, payload = binance.public(st.market, self.command, path, q, st.effective_now(now))
            except LookupError:
                status, payload = self._unknown(path)
            self._send(status, payload)
        except binance.BinanceError as e:
            self._error(e.status, e.code, e.msg, path)
        except (BrokenPipeError, ConnectionResetError):
            pass
        except Exception as e:  # the server must survive anything a client sends
            sys.stderr.write(f"smartpf replay: error on {self.command} {self.path}: {e!r}\n")
            try:
                self._error(500, -1000, "An unknown error occurred while processing the request.", path)
            except OSError:
                pass

    def _unknown(self, path: str) -> tuple[int, bytes]:
        self.state.count(self.state.unknown, path)
        sys.stderr.write(f"smartpf replay: unknown path {self.command} {self.path}\n")
        return 404, b""

    def _public(self, path: str, query: str, now: int) -> None:
        """A path of the OKX or XT public front end; anything it does not know is a loud 404."""
        q = {k: v[-1] for k, v in parse_qs(query, keep_blank_values=True).items()}
        assert self.state.public is not None
        answer = self.state.public.route(self.command, path, q, now)
        if answer is None:
            self._send(*self._unknown(path))
            return
        self._send(answer[0], dumps(answer[1]))

    def _private(self, path: str, query: str, body: bytes, now: int) -> None:
        """A signed endpoint, answered by the Binance protocol over the exchange simulator."""
        assert self.state.accounts is not None
        try:
            status, payload = self.state.accounts.handle(self.command, path, query, body.decode("utf-8", "replace"),
                                                         self.headers, now)
        except LookupError:
            self._send(*self._unknown(path))
            return
        self._send(status, dumps(payload))

    # --------------------------------------------------------------------- admin
    def _admin(self, path: str, body: bytes) -> None:
        st = self.state
        now = int(time.time() * 1000)
        if path.startswith(("/_smartpf/account", "/_smartpf/deposit", "/_smartpf/withdraw", "/_smartpf/halt",
                            "/_smartpf/filters")):
            self._admin_accounts(path, body, now)
        elif path == "/_smartpf/state" and self.command == "GET":
            self._send(200, dumps(st.snapshot(now)))
        elif path == "/_smartpf/faults" and self.command in ("POST", "PUT"):
            try:
                changes = json.loads(body or b"{}")
                if not isinstance(changes, dict):
                    raise FaultError("the body must be a JSON object")
                st.faults.update(changes, now)
            except (ValueError, FaultError) as e:
                self._send(400, dumps({"code": -1130, "msg": f"Invalid fault settings: {e}"}))
                return
            sys.stderr.write(f"smartpf replay: faults set {changes}\n")
            self._send(200, dumps(st.snapshot(now)))
        elif path == "/_smartpf/faults" and self.command == "GET":
            self._send(200, dumps(st.faults.snapshot()))
        else:
            self._send(404, dumps({"code": -1, "msg": "admin endpoints: GET /_smartpf/state, "
                                   "GET|POST /_smartpf/faults, GET /_smartpf/account, POST /_smartpf/deposit, "
                                   "/_smartpf/withdraw, /_smartpf/halt, /_smartpf/filters"}))

    def _admin_accounts(self, path: str, body: bytes, now: int) -> None:
        """The operator's view of the account and the moves made outside the bot."""
        accounts = self.state.accounts
        if accounts is None:
            self._send(404, dumps({"code": -1, "msg": "no accounts: start smartpf replay with --accounts"}))
            return
        sim = accounts.sim
        if path == "/_smartpf/account" and self.command == "GET":
            balances, orders, trades, rejections, halted = sim.snapshot(now)
            self._send(200, dumps({
                "balances": balances.to_dict(), "orders": [binance.order_json(o) for o in orders],
                "trades": [binance.trade_json(t) for t in trades], "rejections": rejections, "halted": halted,
                "fee": {"rate": str(sim.fee_rate), "asset": sim.fee_asset}, "partial_fills": sim.partial_fills}))
            return
        if self.command != "POST":
            self._send(405, dumps({"code": -1, "msg": f"{path}: use POST with a JSON object"}))
            return
        try:
            req = json.loads(body or b"{}")
            if not isinstance(req, dict):
                raise ValueError("the body must be a JSON object")
            if path in ("/_smartpf/deposit", "/_smartpf/withdraw"):
                asset = str(req.get("asset", "")).upper()
                amount = dec(req.get("amount"))
                if not asset.isalnum():
                    raise ValueError(f"asset {req.get('asset')!r}: must be an asset name like USDT")
                (sim.deposit if path == "/_smartpf/deposit" else sim.withdraw)(asset, amount)
            elif path == "/_smartpf/halt":
                if not isinstance(req.get("halted"), bool):
                    raise ValueError("halted: must be true or false")
                sim.halt(str(req.get("symbol")), req["halted"])
            elif path == "/_smartpf/filters":
                symbol, changes = str(req.get("symbol")), req.get("filters")
                if symbol not in sim.rules or not isinstance(changes, dict):
                    raise ValueError("expected {\"symbol\": \"ETHUSDT\", \"filters\": {\"NOTIONAL\": "
                                     "{\"minNotional\": \"100\"}}}")
                for kind, values in changes.items():
                    sim.rules[symbol].filters.setdefault(kind, {"filterType": kind}).update(values)
            else:
                self._send(404, dumps({"code": -1, "msg": f"unknown admin path {path}"}))
                return
        except (ValueError, Rejected) as e:
            self._send(400, dumps({"code": -1130, "msg": f"{path}: {e}"}))
            return
        sys.stderr.write(f"smartpf replay: {path[len(ADMIN_PREFIX):]} {req}\n")
        balances, *_ = sim.snapshot(now)
        self._send(200, dumps({"balances": balances.to_dict()}))

class ReplayServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 128


def make_server(state: ReplayState, host: str, port: int) -> ReplayServer:
    """Bind (port 0 picks a free one); the caller runs ``serve_forever``."""
    handler = type("BoundHandler", (Handler,), {"state": state})
    return ReplayServer((host, port), handler)
