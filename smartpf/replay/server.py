"""HTTP plumbing of the replay exchange: connections, faults, admin endpoints, and dispatch to the
exchange front end of ``--protocol`` (a :class:`~smartpf.replay.protocols.front.Front`), which answers its
exchange's API and words every error and fault in its exchange's shape; unknown paths stay a loud 404.

A ``ThreadingHTTPServer`` with HTTP/1.1 keep-alive: one thread per connection, read-only market
arrays, so concurrent ccxt requests never wait on each other. Signed endpoints are answered by the
front's signed API over the exchange simulator's accounts when the server runs with ``--accounts``
(a :class:`~smartpf.replay.protocols.signed.SignedFront`), otherwise as the exchange answers a request
without a valid key.
"""

from __future__ import annotations

import hmac
import json
import socket
import sys
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from smartpf.errors import VenueError
from smartpf.replay.exchange.amounts import dec
from smartpf.replay.exchange.clock import iso
from smartpf.replay.exchange.market import Market
from smartpf.replay.exchange.simulator import Rejected
from smartpf.replay.faults import OUTAGE, FaultError, Faults
from smartpf.replay.protocols import account_json, default_front
from smartpf.replay.protocols.front import MALFORMED, UNAUTHORIZED, UNKNOWN, Front
from smartpf.replay.protocols.signed import SignedFront
from smartpf.replay.protocols.wire import dumps

ADMIN_PREFIX = "/_smartpf/"
MAX_BODY = 1 << 20            # bytes: larger bodies are refused (413) without being read
IDLE_TIMEOUT = 30.0           # seconds a connection may sit without sending (then it is closed)
MAX_CONNECTIONS = 64          # connections served at once; more are answered 503 and closed
TOKEN_HEADER = "X-Smartpf-Token"
LOOPBACK = ("127.0.0.1", "::1", "localhost")
BUSY = (b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json;charset=UTF-8\r\n"
        b"Content-Length: 62\r\nRetry-After: 1\r\nConnection: close\r\n\r\n"
        b'{"code":-1008,"msg":"smartpf replay: too many connections."}  ')


def is_loopback(host: str) -> bool:
    return host in LOOPBACK or host.startswith("127.")


class ReplayState:
    """Everything the handler threads share: the market, the faults, the scenario and counters."""

    def __init__(self, market: Market, faults: Faults, log_requests: bool = False,
                 accounts: SignedFront | None = None, public: Front | None = None) -> None:
        self.market = market
        self.public = public  # the front of --protocol; None: the default protocol's (see ``front``)
        self._default_front = default_front(market)
        self.faults = faults
        self.log_requests = log_requests
        self.accounts = accounts  # the signed API (of --protocol) in front of the exchange simulator (--accounts)
        self.admin_token: str | None = None  # required on /_smartpf/ when set (any address but loopback)
        self.requests: Counter[str] = Counter()
        self.unknown: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()
        self._lock = threading.Lock()

    def count(self, counter: Counter[str], key: str) -> None:
        with self._lock:
            counter[key] += 1

    @property
    def front(self) -> Front:
        """The exchange API spoken: the front of --protocol."""
        return self.public if self.public is not None else self._default_front

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

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """The standard library's answer to a request it cannot parse, as JSON with a real status line
        (even for a request line that looks like HTTP/0.9); the connection is then closed."""
        self.close_connection = True
        if not str(getattr(self, "request_version", "")).startswith("HTTP/1."):
            self.request_version = "HTTP/1.1"
        text = message or self.responses.get(code, ("error",))[0]
        body = dumps(self.state.front.error_body(code, MALFORMED, f"Malformed request: {text}"))
        try:
            self.send_response(code, text)
            self.send_header("Content-Type", "application/json;charset=UTF-8")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Connection", "close")
            self.end_headers()
            if getattr(self, "command", None) != "HEAD":
                self.wfile.write(body)
        except OSError:
            pass

    def _error(self, status: int, code: int, msg: str, path: str) -> None:
        self.state.count(self.state.errors, f"{status} {code} {path}")
        extra = {"Retry-After": "1"} if status == 429 else None
        self._send(status, dumps(self.state.front.error_body(status, code, msg)), extra)

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        self._dispatch()

    def do_POST(self) -> None:  # noqa: N802
        self._dispatch()

    def do_DELETE(self) -> None:  # noqa: N802
        self._dispatch()

    def do_PUT(self) -> None:  # noqa: N802
        self._dispatch()

    def _body(self, path: str) -> bytes | None:
        """The request body, or None once an error has been answered (bad or huge Content-Length, a
        body cut short). The connection is closed after an error: its framing cannot be trusted."""
        raw = self.headers.get("Content-Length")
        if raw is None or raw.strip() == "":
            return b""
        raw = raw.strip()
        if not raw.isdigit() or len(raw) > 18:
            self.close_connection = True
            self._error(400, MALFORMED, f"Illegal Content-Length {raw[:40]!r}: must be a whole number of bytes", path)
            return None
        length = int(raw)
        if length > MAX_BODY:
            self.close_connection = True
            self._error(413, MALFORMED, f"Request body of {length} bytes is over the limit of {MAX_BODY}", path)
            return None
        body = self.rfile.read(length) if length else b""
        if len(body) < length:  # the client closed before sending it all
            self.close_connection = True
            return None
        return body

    def _authorized(self) -> bool:
        token = self.state.admin_token
        if token is None:
            return True
        given = self.headers.get(TOKEN_HEADER) or ""
        auth = self.headers.get("Authorization") or ""
        if auth.startswith("Bearer "):
            given = given or auth[len("Bearer "):]
        return hmac.compare_digest(given.encode(), token.encode())

    def _dispatch(self) -> None:
        st = self.state
        url = urlsplit(self.path)
        path = url.path.rstrip("/") or "/"
        try:
            body = self._body(path)
        except TimeoutError:  # a half-sent body: give up on the connection
            self.close_connection = True
            return
        if body is None:
            return
        try:
            if path.startswith(ADMIN_PREFIX.rstrip("/")):
                if not self._authorized():
                    self.close_connection = True
                    self._error(401, UNAUTHORIZED, f"admin endpoints need the token in the {TOKEN_HEADER} header "
                                "(smartpf replay --admin-token)", path)
                    return
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
            if st.accounts is not None and st.accounts.is_private(path):
                self._private(path, url.query, body, now)
                return
            if st.front.is_private(path):
                st.count(st.unknown, path)  # no --accounts: answered like a request without a valid key
                sys.stderr.write(f"smartpf replay: private endpoint {path} requested (no account here)\n")
                self._error(401, UNAUTHORIZED, "Invalid API-key, IP, or permissions for action.", path)
                return
            self._public(path, url.query, st.effective_now(now))
        except VenueError as e:
            self._error(e.status, getattr(e, "code", UNKNOWN), getattr(e, "msg", str(e)), path)
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            self.close_connection = True
        except Exception as e:  # the server must survive anything a client sends
            sys.stderr.write(f"smartpf replay: error on {self.command} {self.path}: {e!r}\n")
            try:
                self._error(500, UNKNOWN, "An unknown error occurred while processing the request.", path)
            except OSError:
                pass

    def _unknown(self, path: str) -> tuple[int, bytes]:
        self.state.count(self.state.unknown, path)
        sys.stderr.write(f"smartpf replay: unknown path {self.command} {self.path}\n")
        return 404, b""

    def _public(self, path: str, query: str, now: int) -> None:
        """A public path of the front; anything it does not know is a loud 404."""
        q = {k: v[-1] for k, v in parse_qs(query, keep_blank_values=True).items()}
        answer = self.state.front.route(self.command, path, q, now)
        if answer is None:
            self._send(*self._unknown(path))
            return
        status, payload = answer
        self._send(status, payload if isinstance(payload, bytes) else dumps(payload))

    def _private(self, path: str, query: str, body: bytes, now: int) -> None:
        """A signed endpoint, answered by the protocol's signed front over the exchange simulator. Placing an
        order may meet the order faults: refused before the exchange acts (5xx, 429, -1021), or acted
        on and its answer lost (the connection closes without a byte)."""
        st = self.state
        assert st.accounts is not None
        placing = st.accounts.is_placement(self.command, path)
        if placing:
            failure = st.faults.draw_order_error()
            if failure is not None:
                sys.stderr.write(f"smartpf replay: order fault {failure.status} {failure.code}\n")
                self._error(failure.status, failure.code, failure.msg, path)
                return
            st.accounts.sim.expire_after_partial = st.faults.expire_after_partial
        before = st.accounts.sim.next_order_id
        try:
            status, payload = st.accounts.handle(self.command, path, query, body.decode("utf-8", "replace"),
                                                 self.headers, now)
        except LookupError:
            self._send(*self._unknown(path))
            return
        placed = placing and status == 200 and st.accounts.sim.next_order_id > before  # not a refusal in a 200
        if placed and st.faults.answer_delay_ms:  # the fill is done; the answer waits
            time.sleep(st.faults.answer_delay_ms / 1000)
        if placed and st.faults.draw_lost():
            sys.stderr.write(f"smartpf replay: answer lost for order {st.accounts.sim.next_order_id - 1}\n")
            self._drop()
            return
        self._send(status, dumps(payload))

    def _drop(self) -> None:
        """Close the connection without an answer: the client sees a network error at once."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

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
            order_rows, trade_rows = account_json(orders, trades)
            self._send(200, dumps({
                "balances": balances.to_dict(), "orders": order_rows,
                "trades": trade_rows, "rejections": rejections, "halted": halted,
                "fee": {"rate": str(sim.fee_rate), "asset": sim.fee_asset}, "partial_fills": sim.partial_fills,
                "steps": {r.base: str(r.step) for r in sim.rules.values()}}))
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
        except (ValueError, ArithmeticError, Rejected) as e:  # decimal's errors too: nothing moved, a 400
            self._send(400, dumps({"code": -1130, "msg": f"{path}: {e}"}))
            return
        sys.stderr.write(f"smartpf replay: {path[len(ADMIN_PREFIX):]} {req}\n")
        balances, *_ = sim.snapshot(now)
        self._send(200, dumps({"balances": balances.to_dict()}))

class ReplayServer(ThreadingHTTPServer):
    """One thread per connection, at most ``max_connections`` of them: a connection beyond that is
    answered 503 at once and closed, so no client can grow the server without bound."""

    daemon_threads = True
    block_on_close = False
    request_queue_size = 128
    max_connections = MAX_CONNECTIONS

    def server_activate(self) -> None:
        super().server_activate()
        self._slots = threading.BoundedSemaphore(self.max_connections)

    def process_request(self, request, client_address) -> None:  # noqa: ANN001 - socketserver signature
        if not self._slots.acquire(blocking=False):
            try:
                request.settimeout(1.0)
                request.sendall(BUSY)
            except OSError:
                pass
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request, client_address) -> None:  # noqa: ANN001
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()


def make_server(state: ReplayState, host: str, port: int, idle_timeout: float = IDLE_TIMEOUT,
                max_connections: int = MAX_CONNECTIONS) -> ReplayServer:
    """Bind (port 0 picks a free one); the caller runs ``serve_forever``. A connection idle for
    ``idle_timeout`` seconds (between requests, or in the middle of one) is closed."""
    handler = type("BoundHandler", (Handler,), {"state": state, "timeout": idle_timeout})
    server_cls = type("BoundServer", (ReplayServer,), {"max_connections": max_connections})
    return server_cls((host, port), handler)
