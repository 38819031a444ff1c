"""HTTP front of the replay exchange: routing, Binance-shaped errors, faults, admin endpoints.

With ``--protocol okx|xt`` a public-API front end (``smartpf.replay.protocols``) answers instead of the
Binance routes below, and faults are worded in its error shape; unknown paths stay a loud 404.

A ``ThreadingHTTPServer`` with HTTP/1.1 keep-alive: one thread per connection, read-only market
arrays, so concurrent ccxt requests never wait on each other. Only public market-data endpoints
are served; private ones answer like Binance does without a valid key.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from smartpf.replay.clock import iso
from smartpf.replay.data import PairData
from smartpf.replay.exchange.amounts import dec
from smartpf.replay.exchange.simulator import Rejected
from smartpf.replay.faults import OUTAGE, FaultError, Faults
from smartpf.replay.market import Market, fmt
from smartpf.replay.protocols import binance
from smartpf.replay.protocols.public import PublicFront

try:  # orjson comes with freqtrade and is several times faster; json is the fallback
    import orjson

    def dumps(obj: object) -> bytes:
        return orjson.dumps(obj)
except ImportError:  # pragma: no cover
    def dumps(obj: object) -> bytes:
        return json.dumps(obj, separators=(",", ":")).encode()

ADMIN_PREFIX = "/_smartpf/"
KLINES_MAX = 1000
DEPTH_MAX = 5000


class ApiError(Exception):
    """A Binance error answer: HTTP status plus {"code": ..., "msg": ...}."""

    def __init__(self, status: int, code: int, msg: str) -> None:
        super().__init__(msg)
        self.status, self.code, self.msg = status, code, msg


def _mandatory(name: str) -> ApiError:
    return ApiError(400, -1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed.")


def _int_param(q: dict[str, str], name: str) -> int | None:
    raw = q.get(name)
    if raw is None:
        return None
    if raw == "":
        raise _mandatory(name)
    if not raw.isdigit() or len(raw) > 20:
        raise ApiError(400, -1100, f"Illegal characters found in parameter '{name}'; legal range is '^[0-9]{{1,20}}$'.")
    return int(raw)


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
            if st.accounts is not None and binance.is_private(path):
                self._private(path, url.query, body, now)
                return
            q = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
            status, payload = self._route(path, q, st.effective_now(now))
            self._send(status, payload)
        except (ApiError, binance.BinanceError) as e:
            self._error(e.status, e.code, e.msg, path)
        except (BrokenPipeError, ConnectionResetError):
            pass
        except Exception as e:  # the server must survive anything a client sends
            sys.stderr.write(f"smartpf replay: error on {self.command} {self.path}: {e!r}\n")
            try:
                self._error(500, -1000, "An unknown error occurred while processing the request.", path)
            except OSError:
                pass

    def _public(self, path: str, query: str, now: int) -> None:
        """A path of the OKX or XT public front end; anything it does not know is a loud 404."""
        q = {k: v[-1] for k, v in parse_qs(query, keep_blank_values=True).items()}
        assert self.state.public is not None
        answer = self.state.public.route(self.command, path, q, now)
        if answer is None:
            self._unknown(path)
            self._send(404, b"")
            return
        self._send(answer[0], dumps(answer[1]))

    def _private(self, path: str, query: str, body: bytes, now: int) -> None:
        """A signed endpoint, answered by the Binance protocol over the exchange simulator."""
        assert self.state.accounts is not None
        try:
            status, payload = self.state.accounts.handle(self.command, path, query, body.decode("utf-8", "replace"),
                                                         self.headers, now)
        except LookupError:
            self._unknown(path)
            self._send(404, b"")
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

    # --------------------------------------------------------------------- Binance API
    def _route(self, path: str, q: dict[str, str], now: int) -> tuple[int, bytes]:
        m = self.state.market
        if self.command not in ("GET", "HEAD"):
            if path.startswith(("/api/v3/order", "/api/v3/account", "/api/v3/myTrades", "/sapi/", "/api/v3/open")):
                raise ApiError(401, -2015, "Invalid API-key, IP, or permissions for action.")
            return self._unknown(path)
        if path == "/api/v3/ping":
            return 200, b"{}"
        if path == "/api/v3/time":
            return 200, dumps({"serverTime": int(time.time() * 1000)})
        if path == "/api/v3/exchangeInfo":
            info = dict(m.exchange_info)
            info["serverTime"] = int(time.time() * 1000)
            symbols = self._symbols_filter(q)
            if symbols is not None:
                info["symbols"] = [m.pairs[s].info for s in symbols]
            return 200, dumps(info)
        if path in ("/api/v3/klines", "/api/v3/uiKlines"):
            return 200, self._klines(q, now)
        if path == "/api/v3/ticker/24hr":
            return 200, dumps(self._per_symbol(q, lambda p: m.ticker_24h(p, now)))
        if path == "/api/v3/ticker/price":
            return 200, dumps(self._per_symbol(q, lambda p: self._price(p, now)))
        if path == "/api/v3/ticker/bookTicker":
            return 200, dumps(self._per_symbol(q, lambda p: self._book(p, now)))
        if path == "/api/v3/depth":
            pdata = self._symbol(q)
            limit = _int_param(q, "limit")
            limit = 100 if limit is None else limit
            if not 1 <= limit:
                raise ApiError(400, -1130, "Data sent for parameter 'limit' is not valid.")
            return 200, dumps(m.depth(pdata, min(limit, DEPTH_MAX), now))
        if path == "/api/v3/avgPrice":
            return 200, dumps(m.avg_price(self._symbol(q), now))
        if path.startswith(("/api/v3/account", "/api/v3/order", "/api/v3/openOrders", "/api/v3/allOrders",
                            "/api/v3/myTrades", "/sapi/")):
            self.state.count(self.state.unknown, path)
            sys.stderr.write(f"smartpf replay: private endpoint {path} requested (no account here)\n")
            raise ApiError(401, -2015, "Invalid API-key, IP, or permissions for action.")
        return self._unknown(path)

    def _unknown(self, path: str) -> tuple[int, bytes]:
        self.state.count(self.state.unknown, path)
        sys.stderr.write(f"smartpf replay: unknown path {self.command} {self.path}\n")
        return 404, b""

    def _symbol(self, q: dict[str, str]) -> PairData:
        raw = q.get("symbol")
        if not raw:
            raise _mandatory("symbol")
        pdata = self.state.market.pairs.get(raw.upper())
        if pdata is None or raw != raw.upper():
            raise ApiError(400, -1121, "Invalid symbol.")
        return pdata

    def _symbols_filter(self, q: dict[str, str]) -> list[str] | None:
        if "symbol" in q and "symbols" in q:
            raise ApiError(400, -1128, "Combination of optional parameters invalid.")
        if "symbol" in q:
            return [self._symbol(q).symbol]
        if "symbols" not in q:
            return None
        try:
            names = json.loads(q["symbols"])
            if not isinstance(names, list) or not all(isinstance(n, str) for n in names) or not names:
                raise ValueError
        except ValueError:
            raise ApiError(400, -1100, "Illegal characters found in parameter 'symbols'; legal range is "
                           "'^\\[(\"[A-Z0-9-_.]{1,20}\"(,\"[A-Z0-9-_.]{1,20}\"){0,}){0,1}\\]$'.") from None
        pairs = self.state.market.pairs
        if any(n not in pairs for n in names):
            raise ApiError(400, -1121, "Invalid symbol.")
        return names

    def _per_symbol(self, q: dict[str, str], answer) -> object:  # noqa: ANN001
        pairs = self.state.market.pairs
        if "symbol" in q and "symbols" not in q:
            return answer(self._symbol(q))
        names = self._symbols_filter(q)
        return [answer(pairs[s]) for s in (names if names is not None else pairs)]

    def _price(self, pdata: PairData, now: int) -> dict:
        return {"symbol": pdata.symbol, "price": fmt(self.state.market.quote(pdata, now)["last"])}

    def _book(self, pdata: PairData, now: int) -> dict:
        qt = self.state.market.quote(pdata, now)
        return {"symbol": pdata.symbol, "bidPrice": fmt(qt["bid"]), "bidQty": fmt(qt["bid_qty"]),
                "askPrice": fmt(qt["ask"]), "askQty": fmt(qt["ask_qty"])}

    def _klines(self, q: dict[str, str], now: int) -> bytes:
        m = self.state.market
        pdata = self._symbol(q)
        interval = q.get("interval")
        if not interval:
            raise _mandatory("interval")
        if not m.valid_interval(interval):
            raise ApiError(400, -1120, "Invalid interval.")
        limit = _int_param(q, "limit")
        limit = 500 if limit is None else limit
        if limit < 1:
            raise ApiError(400, -1130, "Data sent for parameter 'limit' is not valid.")
        start, end = _int_param(q, "startTime"), _int_param(q, "endTime")
        if start is not None and end is not None and start > end:
            raise ApiError(400, -1023, "Start time is greater than end time.")
        return m.klines_json(pdata, interval, start, end, min(limit, KLINES_MAX), now)


class ReplayServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 128


def make_server(state: ReplayState, host: str, port: int) -> ReplayServer:
    """Bind (port 0 picks a free one); the caller runs ``serve_forever``."""
    handler = type("BoundHandler", (Handler,), {"state": state})
    return ReplayServer((host, port), handler)
