"""Binance's spot REST API in front of the exchange simulator: the public market data (from the
replay market) and the signed account endpoints (from the simulator's accounts), with Binance's
parameters, answers, and errors with its codes and exact texts. It translates; the core decides.

The texts matter: ccxt picks Binance's spot exception table by the URL's host, which 127.0.0.1
does not match, so only the generic tables apply, and those match some errors by their text
("Account has insufficient balance for requested action." -> InsufficientFunds).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import sys
import time
from collections.abc import Mapping
from decimal import Decimal
from urllib.parse import parse_qsl

from smartpf.errors import VenueError
from smartpf.replay.exchange import simulator as sim_mod
from smartpf.replay.exchange.amounts import dec, fmt8
from smartpf.replay.exchange.data import PairData
from smartpf.replay.exchange.market import Market, fmt
from smartpf.replay.exchange.orders import Order, Trade
from smartpf.replay.exchange.simulator import ExchangeSimulator, Rejected
from smartpf.replay.protocols import front
from smartpf.replay.protocols.wire import dumps

# The credentials written in user_data/config.replay-live.json: accepted when none are given.
DEFAULT_API_KEY = "smartpf-replay-key-not-a-real-binance-key"
DEFAULT_API_SECRET = "smartpf-replay-secret-not-a-real-binance-secret"

# Signed endpoints (prefixes): without --accounts they answer -2015 like Binance without a valid key.
PRIVATE_PREFIXES = ("/api/v3/account", "/api/v3/order", "/api/v3/openOrder", "/api/v3/allOrder", "/api/v3/myTrades",
                    "/api/v3/myPreventedMatches", "/api/v3/rateLimit", "/sapi/")
DEFAULT_RECV_WINDOW = 5000
MAX_LIMIT = 1000
KLINES_MAX = 1000
DEPTH_MAX = 5000

NUMBER_RANGE = "'^([0-9]{1,20})(\\.[0-9]{1,20})?$'"


class BinanceError(VenueError):
    def __init__(self, status: int, code: int, msg: str) -> None:
        super().__init__(msg)
        self.status, self.code, self.msg = status, code, msg


def mandatory(name: str) -> BinanceError:
    return BinanceError(400, -1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed.")


# The plumbing's error kinds (protocols.front) as Binance's codes.
KIND_CODES = {front.MALFORMED: -1100, front.UNAUTHORIZED: -2015, front.UNKNOWN: -1000, front.INTERNAL: -1001,
              front.OVERLOADED: -1008, front.RATE_LIMIT: -1003, front.TIMESTAMP: -1021}
INVALID_KEY = BinanceError(401, -2015, "Invalid API-key, IP, or permissions for action.")

# simulator rejection -> (status, code, text); FILTER_FAILURE formats the filter's name
REJECTIONS: dict[str, tuple[int, int, str]] = {
    sim_mod.INSUFFICIENT_BALANCE: (400, -2010, "Account has insufficient balance for requested action."),
    sim_mod.FILTER_FAILURE: (400, -1013, "Filter failure: {detail}"),
    sim_mod.MARKET_CLOSED: (400, -1013, "Market is closed."),
    sim_mod.UNKNOWN_SYMBOL: (400, -1121, "Invalid symbol."),
    sim_mod.UNSUPPORTED_TYPE: (400, -1116, "Invalid orderType."),
    sim_mod.DUPLICATE_ORDER: (400, -2010, "Duplicate order sent."),
    sim_mod.ORDER_NOT_FOUND: (400, -2013, "Order does not exist."),
    sim_mod.CANCEL_REJECTED: (400, -2011, "Unknown order sent."),
    sim_mod.INVALID_AMOUNT: (400, -1013, "Invalid quantity."),
}


def translate(rejected: Rejected) -> BinanceError:
    status, code, text = REJECTIONS[rejected.reason]
    return BinanceError(status, code, text.format(detail=rejected.detail))


def is_private(path: str) -> bool:
    return path.startswith(PRIVATE_PREFIXES)


# ---------------------------------------------------------------------------------- public market data
class BinancePublic:
    """Binance's public API as a :class:`~smartpf.replay.protocols.front.Front` (the default ``--protocol``)."""

    name = "binance"

    def __init__(self, market: Market, markets_file: object = None) -> None:
        self.market = market

    @staticmethod
    def is_private(path: str) -> bool:
        return is_private(path)

    def route(self, method: str, path: str, q: dict[str, str], now: int) -> tuple[int, object] | None:
        try:
            return public(self.market, method, path, q, now)
        except LookupError:
            return None

    @staticmethod
    def error_body(status: int, code: object, msg: str) -> dict:
        """The plumbing's neutral kinds as Binance's codes; Binance's own codes pass through."""
        return {"code": KIND_CODES.get(code, code) if isinstance(code, str) else code, "msg": msg}


def public(m: Market, method: str, path: str, q: dict[str, str], now: int) -> tuple[int, bytes]:
    """Answer a public market-data request; LookupError for a path Binance does not have here."""
    if is_private(path):
        raise INVALID_KEY
    if method not in ("GET", "HEAD"):
        raise LookupError(path)
    if path == "/api/v3/ping":
        return 200, b"{}"
    if path == "/api/v3/time":
        return 200, dumps({"serverTime": int(time.time() * 1000)})
    if path == "/api/v3/exchangeInfo":
        info = dict(m.exchange_info)
        info["serverTime"] = int(time.time() * 1000)
        symbols = _symbols_filter(m, q)
        if symbols is not None:
            info["symbols"] = [m.pairs[s].info for s in symbols]
        return 200, dumps(info)
    if path in ("/api/v3/klines", "/api/v3/uiKlines"):
        return 200, _klines(m, q, now)
    if path == "/api/v3/ticker/24hr":
        return 200, dumps(_per_symbol(m, q, lambda p: m.ticker_24h(p, now)))
    if path == "/api/v3/ticker/price":
        return 200, dumps(_per_symbol(m, q, lambda p: _price(m, p, now)))
    if path == "/api/v3/ticker/bookTicker":
        return 200, dumps(_per_symbol(m, q, lambda p: _book(m, p, now)))
    if path == "/api/v3/depth":
        pdata = _pair(m, q)
        limit = _int(q, "limit")
        limit = 100 if limit is None else limit
        if not 1 <= limit:
            raise BinanceError(400, -1130, "Data sent for parameter 'limit' is not valid.")
        return 200, dumps(m.depth(pdata, min(limit, DEPTH_MAX), now))
    if path == "/api/v3/avgPrice":
        return 200, dumps(m.avg_price(_pair(m, q), now))
    raise LookupError(path)


def _pair(m: Market, q: dict[str, str]) -> PairData:
    raw = q.get("symbol")
    if not raw:
        raise mandatory("symbol")
    pdata = m.pairs.get(raw.upper())
    if pdata is None or raw != raw.upper():
        raise BinanceError(400, -1121, "Invalid symbol.")
    return pdata


def _symbols_filter(m: Market, q: dict[str, str]) -> list[str] | None:
    if "symbol" in q and "symbols" in q:
        raise BinanceError(400, -1128, "Combination of optional parameters invalid.")
    if "symbol" in q:
        return [_pair(m, q).symbol]
    if "symbols" not in q:
        return None
    try:
        names = json.loads(q["symbols"])
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names) or not names:
            raise ValueError
    except ValueError:
        raise BinanceError(400, -1100, "Illegal characters found in parameter 'symbols'; legal range is "
                       "'^\\[(\"[A-Z0-9-_.]{1,20}\"(,\"[A-Z0-9-_.]{1,20}\"){0,}){0,1}\\]$'.") from None
    pairs = m.pairs
    if any(n not in pairs for n in names):
        raise BinanceError(400, -1121, "Invalid symbol.")
    return names


def _per_symbol(m: Market, q: dict[str, str], answer) -> object:  # noqa: ANN001
    pairs = m.pairs
    if "symbol" in q and "symbols" not in q:
        return answer(_pair(m, q))
    names = _symbols_filter(m, q)
    return [answer(pairs[s]) for s in (names if names is not None else pairs)]


def _price(m: Market, pdata: PairData, now: int) -> dict:
    return {"symbol": pdata.symbol, "price": fmt(m.quote(pdata, now)["last"])}


def _book(m: Market, pdata: PairData, now: int) -> dict:
    qt = m.quote(pdata, now)
    return {"symbol": pdata.symbol, "bidPrice": fmt(qt["bid"]), "bidQty": fmt(qt["bid_qty"]),
            "askPrice": fmt(qt["ask"]), "askQty": fmt(qt["ask_qty"])}


def _klines(m: Market, q: dict[str, str], now: int) -> bytes:
    pdata = _pair(m, q)
    interval = q.get("interval")
    if not interval:
        raise mandatory("interval")
    if not m.valid_interval(interval):
        raise BinanceError(400, -1120, "Invalid interval.")
    limit = _int(q, "limit")
    limit = 500 if limit is None else limit
    if limit < 1:
        raise BinanceError(400, -1130, "Data sent for parameter 'limit' is not valid.")
    start, end = _int(q, "startTime"), _int(q, "endTime")
    if start is not None and end is not None and start > end:
        raise BinanceError(400, -1023, "Start time is greater than end time.")
    return m.klines_json(pdata, interval, start, end, min(limit, KLINES_MAX), now)


# ---------------------------------------------------------------------------------- answers
def order_json(o: Order) -> dict:
    """An order as GET /api/v3/order, openOrders and allOrders answer it."""
    return {
        "symbol": o.symbol, "orderId": o.order_id, "orderListId": -1, "clientOrderId": o.client_order_id,
        "price": fmt8(o.price), "origQty": fmt8(o.orig_qty), "executedQty": fmt8(o.executed_qty),
        "cummulativeQuoteQty": fmt8(o.cum_quote), "status": o.status, "timeInForce": o.time_in_force or "GTC",
        "type": o.type, "side": o.side, "stopPrice": "0.00000000", "icebergQty": "0.00000000", "time": o.time,
        "updateTime": o.update_time, "isWorking": True, "workingTime": o.time,
        "origQuoteOrderQty": fmt8(o.orig_quote_qty), "selfTradePreventionMode": "EXPIRE_MAKER",
    }


def fill_json(t: Trade) -> dict:
    return {"price": fmt8(t.price), "qty": fmt8(t.qty), "commission": fmt8(t.commission),
            "commissionAsset": t.commission_asset, "tradeId": t.id}


def trade_json(t: Trade) -> dict:
    """A trade as GET /api/v3/myTrades answers it."""
    return {"symbol": t.symbol, "id": t.id, "orderId": t.order_id, "orderListId": -1, "price": fmt8(t.price),
            "qty": fmt8(t.qty), "quoteQty": fmt8(t.quote_qty), "commission": fmt8(t.commission),
            "commissionAsset": t.commission_asset, "time": t.time, "isBuyer": t.side == "BUY",
            "isMaker": t.maker, "isBestMatch": True}


def new_order_json(o: Order, fills: list[Trade], resp_type: str, now: int) -> dict:
    """The answer to POST /api/v3/order: ACK, RESULT or FULL (RESULT plus ``fills``)."""
    ack = {"symbol": o.symbol, "orderId": o.order_id, "orderListId": -1, "clientOrderId": o.client_order_id,
           "transactTime": now}
    if resp_type == "ACK":
        return ack
    full = order_json(o)
    result = {**ack, **{k: full[k] for k in ("price", "origQty", "executedQty", "origQuoteOrderQty",
                                              "cummulativeQuoteQty", "status", "timeInForce", "type", "side",
                                              "workingTime", "selfTradePreventionMode")}}
    if resp_type == "FULL":
        result["fills"] = [fill_json(t) for t in fills]
    return result


# ---------------------------------------------------------------------------------- the front end
class BinanceSpot:
    """Signed endpoints of one account: ``handle`` answers (status, JSON-able body) or raises BinanceError."""

    def __init__(self, sim: ExchangeSimulator, api_key: str = DEFAULT_API_KEY,
                 api_secret: str = DEFAULT_API_SECRET) -> None:
        self.sim = sim
        self.api_key = api_key
        self.api_secret = api_secret.encode()

    # the server's questions (see protocols.signed.SignedFront) --------------------------
    @staticmethod
    def is_private(path: str) -> bool:
        return is_private(path)

    @staticmethod
    def is_placement(method: str, path: str) -> bool:
        return method == "POST" and path == "/api/v3/order"

    # authentication -------------------------------------------------------------------
    def authenticate(self, query: str, body: str, headers: Mapping[str, str], server_ms: int) -> dict[str, str]:
        """Check key, signature and timestamp like Binance; returns the request's parameters."""
        key = headers.get("X-MBX-APIKEY")
        if not key:
            raise BinanceError(401, -2014, "API-key format invalid.")
        if key != self.api_key:
            raise INVALID_KEY
        parts = [p for p in (query, body) if p]
        params: dict[str, str] = {}
        signature = None
        signed: list[str] = []
        for part in parts:
            kept = []
            for item in part.split("&"):
                if item.startswith("signature="):
                    signature = item[len("signature="):]
                else:
                    kept.append(item)
            signed.append("&".join(kept))
            params.update(parse_qsl(part, keep_blank_values=True))
        params.pop("signature", None)
        if not signature:
            raise mandatory("signature")
        expected = hmac.new(self.api_secret, "".join(signed).encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, signature.lower()):
            raise BinanceError(400, -1022, "Signature for this request is not valid.")
        ts = _int(params, "timestamp", required=True)
        window = _int(params, "recvWindow")
        window = DEFAULT_RECV_WINDOW if window is None else window
        if window > 60000:
            raise BinanceError(400, -1131, "recvWindow must be less than 60000")
        if ts >= server_ms + 1000:
            raise BinanceError(400, -1021, "Timestamp for this request was 1000ms ahead of the server's time.")
        if server_ms - ts > window:
            raise BinanceError(400, -1021, "Timestamp for this request is outside of the recvWindow.")
        return params

    def handle(self, method: str, path: str, query: str, body: str, headers: Mapping[str, str],
               now: int) -> tuple[int, object]:
        if path.startswith("/sapi/") or path not in ROUTES or method not in ROUTES[path]:
            raise LookupError(path)
        params = self.authenticate(query, body, headers, now)
        if params.get("symbol") and params["symbol"] not in self.sim.rules:
            raise BinanceError(400, -1121, "Invalid symbol.")
        try:
            return 200, ROUTES[path][method](self, params, now)
        except Rejected as r:
            raise translate(r) from None

    # endpoints ------------------------------------------------------------------------
    def account(self, p: dict[str, str], now: int) -> dict:
        balances = self.sim.account(now)
        omit_zero = p.get("omitZeroBalances") == "true"
        rows = [{"asset": a, "free": fmt8(balances.get_free(a)), "locked": fmt8(balances.get_locked(a))}
                for a in balances.assets()
                if not (omit_zero and balances.get_free(a) == 0 and balances.get_locked(a) == 0)]
        bp = int(self.sim.fee_rate * 10000)
        rate = fmt8(self.sim.fee_rate)
        return {"makerCommission": bp, "takerCommission": bp, "buyerCommission": 0, "sellerCommission": 0,
                "commissionRates": {"maker": rate, "taker": rate, "buyer": "0.00000000", "seller": "0.00000000"},
                "canTrade": True, "canWithdraw": True, "canDeposit": True, "brokered": False,
                "requireSelfTradePrevention": False, "preventSor": False, "updateTime": now,
                "accountType": "SPOT", "balances": rows, "permissions": ["SPOT"], "uid": 1}

    def new_order(self, p: dict[str, str], now: int, test: bool = False) -> dict:
        symbol = _symbol(p)
        side = _required(p, "side")
        if side not in ("BUY", "SELL"):
            raise BinanceError(400, -1117, "Invalid side.")
        order_type = _required(p, "type")
        if order_type not in ("MARKET", "LIMIT", "LIMIT_MAKER", "STOP_LOSS", "STOP_LOSS_LIMIT", "TAKE_PROFIT",
                              "TAKE_PROFIT_LIMIT"):
            raise BinanceError(400, -1116, "Invalid orderType.")
        qty, quote_qty, price = _dec(p, "quantity"), _dec(p, "quoteOrderQty"), _dec(p, "price")
        tif = p.get("timeInForce", "")
        if order_type == "MARKET":
            if qty is None and quote_qty is None:
                raise BinanceError(400, -1102, "Param 'quantity' or 'quoteOrderQty' must be sent, but both were "
                                   "empty/null!")
            if price is not None:
                raise BinanceError(400, -1106, "Parameter 'price' sent when not required.")
        elif order_type == "LIMIT":
            if tif == "":
                raise mandatory("timeInForce")
            if qty is None:
                raise mandatory("quantity")
            if price is None:
                raise mandatory("price")
            if tif not in ("GTC", "IOC", "FOK"):
                raise BinanceError(400, -1115, "Invalid timeInForce.")
        resp_type = p.get("newOrderRespType") or "FULL"
        if resp_type not in ("ACK", "RESULT", "FULL"):
            raise BinanceError(400, -1100, "Illegal characters found in parameter 'newOrderRespType'; legal range "
                               "is 'ACK, RESULT, FULL'.")
        if test:
            return {}
        try:
            order, fills = self.sim.place(symbol, side, order_type, now, qty=qty, quote_qty=quote_qty, price=price,
                                          client_id=p.get("newClientOrderId", ""), time_in_force=tif or "GTC")
        except Rejected as r:
            err = translate(r)
            self.sim.record_rejection({"time": now, "symbol": symbol, "side": side, "type": order_type,
                                       "origQty": p.get("quantity"), "quoteOrderQty": p.get("quoteOrderQty"),
                                       "clientOrderId": p.get("newClientOrderId"), "code": err.code,
                                       "msg": err.msg})
            sys.stderr.write(f"smartpf replay: order rejected {symbol} {side} {order_type} "
                             f"qty={p.get('quantity') or p.get('quoteOrderQty')}: {err.code} {err.msg}\n")
            raise err from None
        return new_order_json(order, fills, resp_type, now)

    def test_order(self, p: dict[str, str], now: int) -> dict:
        return self.new_order(p, now, test=True)

    def query_order(self, p: dict[str, str], now: int) -> dict:
        symbol = _symbol(p)
        oid, cid = _order_ref(p)
        return order_json(self.sim.get_order(symbol, now, oid, cid))

    def cancel_order(self, p: dict[str, str], now: int) -> dict:
        symbol = _symbol(p)
        oid, cid = _order_ref(p)
        o = self.sim.cancel(symbol, now, oid, cid)
        return _cancel_json(o, p, now)

    def open_orders(self, p: dict[str, str], now: int) -> list:
        symbol = _symbol(p) if "symbol" in p else None
        return [order_json(o) for o in self.sim.list_orders(now, symbol, open_only=True)]

    def cancel_open_orders(self, p: dict[str, str], now: int) -> list:
        symbol = _symbol(p)
        open_ = self.sim.list_orders(now, symbol, open_only=True)
        if not open_:
            raise BinanceError(400, -2011, "Unknown order sent.")
        return [_cancel_json(self.sim.cancel(symbol, now, o.order_id), {}, now) for o in open_]

    def all_orders(self, p: dict[str, str], now: int) -> list:
        symbol = _symbol(p)
        first, start, end, limit = _int(p, "orderId"), _int(p, "startTime"), _int(p, "endTime"), _limit(p)
        rows = [o for o in self.sim.list_orders(now, symbol)
                if (first is None or o.order_id >= first) and (start is None or o.time >= start)
                and (end is None or o.time <= end)]
        rows = rows[:limit] if first is not None or start is not None else rows[-limit:]
        return [order_json(o) for o in rows]

    def my_trades(self, p: dict[str, str], now: int) -> list:
        symbol = _symbol(p)
        oid, from_id = _int(p, "orderId"), _int(p, "fromId")
        start, end, limit = _int(p, "startTime"), _int(p, "endTime"), _limit(p)
        rows = [t for t in self.sim.list_trades(now, symbol)
                if (oid is None or t.order_id == oid) and (from_id is None or t.id >= from_id)
                and (start is None or t.time >= start) and (end is None or t.time <= end)]
        rows = rows[:limit] if from_id is not None or start is not None else rows[-limit:]
        return [trade_json(t) for t in rows]


def _cancel_json(o: Order, p: dict[str, str], now: int) -> dict:
    full = order_json(o)
    return {"symbol": o.symbol, "origClientOrderId": o.client_order_id, "orderId": o.order_id, "orderListId": -1,
            "clientOrderId": p.get("newClientOrderId") or f"cancel-{o.order_id}", "transactTime": now,
            **{k: full[k] for k in ("price", "origQty", "executedQty", "cummulativeQuoteQty", "status",
                                    "timeInForce", "type", "side", "selfTradePreventionMode")}}


ROUTES = {
    "/api/v3/account": {"GET": BinanceSpot.account},
    "/api/v3/order": {"POST": BinanceSpot.new_order, "GET": BinanceSpot.query_order,
                      "DELETE": BinanceSpot.cancel_order},
    "/api/v3/order/test": {"POST": BinanceSpot.test_order},
    "/api/v3/openOrders": {"GET": BinanceSpot.open_orders, "DELETE": BinanceSpot.cancel_open_orders},
    "/api/v3/allOrders": {"GET": BinanceSpot.all_orders},
    "/api/v3/myTrades": {"GET": BinanceSpot.my_trades},
}


# ---------------------------------------------------------------------------------- parameters
def _required(p: dict[str, str], name: str) -> str:
    value = p.get(name)
    if not value:
        raise mandatory(name)
    return value


def _symbol(p: dict[str, str]) -> str:
    return _required(p, "symbol")


def _int(p: dict[str, str], name: str, required: bool = False) -> int | None:
    raw = p.get(name)
    if raw is None or raw == "":
        if required or raw == "":
            raise mandatory(name)
        return None
    if not raw.isdigit() or len(raw) > 20:
        raise BinanceError(400, -1100, f"Illegal characters found in parameter '{name}'; legal range is "
                           "'^[0-9]{1,20}$'.")
    return int(raw)


def _dec(p: dict[str, str], name: str) -> Decimal | None:
    raw = p.get(name)
    if raw is None:
        return None
    try:
        value = dec(raw)
        if value < 0 or "e" in raw.lower():
            raise ValueError
    except ValueError:
        raise BinanceError(400, -1100, f"Illegal characters found in parameter '{name}'; legal range is "
                           f"{NUMBER_RANGE}.") from None
    return value


def _limit(p: dict[str, str]) -> int:
    limit = _int(p, "limit")
    if limit is None:
        return 500
    if limit < 1:
        raise BinanceError(400, -1130, "Data sent for parameter 'limit' is not valid.")
    return min(limit, MAX_LIMIT)


def _order_ref(p: dict[str, str]) -> tuple[int | None, str | None]:
    oid = _int(p, "orderId")
    cid = p.get("origClientOrderId") or None
    if oid is None and cid is None:
        raise BinanceError(400, -1102, "Param 'origClientOrderId' or 'orderId' must be sent, but both were "
                           "empty/null!")
    return oid, cid
