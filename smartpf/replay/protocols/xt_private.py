"""XT's signed spot API (v4) in front of the exchange simulator: what ccxt 4.5.90's ``xt`` class sends
for Freqtrade trading spot with ``dry_run: false``, in XT's envelope ``{"rc", "mc", "ma", "result"}``.

Signing (checked like XT): headers ``xt-validate-appkey``, ``-timestamp`` (ms, within
``xt-validate-recvwindow``), ``-algorithms`` (HmacSHA256) and ``-signature`` = hex(HMAC-SHA256(secret,
"xt-validate-algorithms=HmacSHA256&xt-validate-appkey=K&xt-validate-recvwindow=W&xt-validate-timestamp=T"
+ "#METHOD#/v4/path" + "#sorted raw query" for a GET or "#json body" for a POST)).

Served: ``balances``, ``balance``; ``order`` (POST places; a market buy is placed by its quote
amount ``quoteQty``, a sell or a limit order by ``quantity``); ``order/{orderId}`` (GET, DELETE);
``open-order``; ``history-order``; ``trade``. Errors come as ``rc 1`` with XT's ``mc`` code
(ORDER_002 insufficient funds, ORDER_F0203 quantity step, ORDER_F0301 minimum value, ORDER_005 no
such order, AUTH_103 bad signature ...); coins are lower case (``btc``), symbols ``btc_usdt``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from decimal import Decimal
from urllib.parse import parse_qsl

from smartpf.errors import ReplayError
from smartpf.replay.exchange import simulator as sim_mod
from smartpf.replay.exchange.amounts import ZERO, dec, fmt8
from smartpf.replay.exchange.data import PairData
from smartpf.replay.exchange.orders import Order, Trade
from smartpf.replay.exchange.simulator import ExchangeSimulator, Rejected
from smartpf.replay.protocols.signed import log_rejection
from smartpf.replay.protocols.xt import XtPublic

# The credentials written in user_data/config.replay-live-xt.json: accepted when none are given.
DEFAULT_API_KEY = "smartpf-replay-xt-key-not-real"
DEFAULT_API_SECRET = "smartpf-replay-xt-secret-not-real"
PREFIX = "/v4/"
MAX_LIMIT = 100


class XtRequestError(ReplayError):
    def __init__(self, mc: str, status: int = 400) -> None:
        super().__init__(mc)
        self.mc, self.status = mc, status


REJECTIONS: dict[str, str] = {
    sim_mod.INSUFFICIENT_BALANCE: "ORDER_002",
    sim_mod.MARKET_CLOSED: "ORDER_003",
    sim_mod.UNKNOWN_SYMBOL: "SYMBOL_001",
    sim_mod.UNSUPPORTED_TYPE: "ORDER_001",
    sim_mod.DUPLICATE_ORDER: "ORDER_001",
    sim_mod.ORDER_NOT_FOUND: "ORDER_005",
    sim_mod.CANCEL_REJECTED: "ORDER_005",
    sim_mod.INVALID_AMOUNT: "ORDER_F0201",
}
FILTERS = {"LOT_SIZE": "ORDER_F0203", "MARKET_LOT_SIZE": "ORDER_F0202", "NOTIONAL": "ORDER_F0301",
           "MIN_NOTIONAL": "ORDER_F0301", "PRICE_FILTER": "ORDER_F0103"}


def rejection(r: Rejected) -> str:
    if r.reason == sim_mod.FILTER_FAILURE:
        return FILTERS.get(r.detail, "ORDER_001")
    return REJECTIONS[r.reason]


def envelope(result: object) -> dict:
    return {"rc": 0, "mc": "SUCCESS", "ma": [], "result": result}


def _s(value: Decimal) -> str:
    return fmt8(value)


class XtSpot:
    """Signed endpoints of one account in XT's shape: ``handle`` answers (status, JSON-able body)."""

    name = "xt"

    def __init__(self, sim: ExchangeSimulator, public: XtPublic, api_key: str = DEFAULT_API_KEY,
                 api_secret: str = DEFAULT_API_SECRET) -> None:
        self.sim = sim
        self.public = public
        self.api_key, self.api_secret = api_key, api_secret.encode()
        self.id_of = {public.by_id[i["symbol"]].symbol: i["symbol"] for i in public.symbols.values()}

    @staticmethod
    def is_private(path: str) -> bool:
        return path.startswith(PREFIX) and not path.startswith(PREFIX + "public/")

    @staticmethod
    def is_placement(method: str, path: str) -> bool:
        return method == "POST" and path == "/v4/order"

    def authenticate(self, method: str, path: str, query: str, body: str, headers: Mapping[str, str],
                     now: int) -> None:
        h = {k: headers.get(f"xt-validate-{k}") for k in ("appkey", "timestamp", "recvwindow", "algorithms",
                                                          "signature")}
        for key, mc in (("appkey", "AUTH_001"), ("timestamp", "AUTH_002"), ("signature", "AUTH_007")):
            if not h[key]:
                raise XtRequestError(mc, 401)
        if h["appkey"] != self.api_key:
            raise XtRequestError("AUTH_101", 401)
        if h["algorithms"] not in (None, "HmacSHA256"):
            raise XtRequestError("AUTH_006", 401)
        window_raw, ts_raw = str(h["recvwindow"] or "5000"), str(h["timestamp"])
        if not window_raw.isdigit() or not 0 < int(window_raw) <= 60000:
            raise XtRequestError("AUTH_004", 401)
        if not ts_raw.isdigit() or len(ts_raw) > 15:
            raise XtRequestError("AUTH_002", 401)
        ts = int(ts_raw)
        if now - ts > int(window_raw) or ts - now > 1000:
            raise XtRequestError("AUTH_105", 401)
        signed = (f"xt-validate-algorithms=HmacSHA256&xt-validate-appkey={h['appkey']}"
                  f"&xt-validate-recvwindow={window_raw}&xt-validate-timestamp={ts_raw}#{method}#{path}")
        if body:
            signed += f"#{body}"
        elif query:
            signed += "#" + "&".join(f"{k}={v}" for k, v in sorted(parse_qsl(query, keep_blank_values=True)))
        expected = hmac.new(self.api_secret, signed.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, str(h["signature"]).lower()):
            raise XtRequestError("AUTH_103", 401)

    def handle(self, method: str, path: str, query: str, body: str, headers: Mapping[str, str],
               now: int) -> tuple[int, object]:
        route, arg = ROUTES.get((method, path)), None
        if route is None and path.startswith("/v4/order/") and method in ("GET", "DELETE"):
            route, arg = (XtSpot.order_by_id if method == "GET" else XtSpot.cancel), path[len("/v4/order/"):]
        if route is None:
            raise LookupError(path)
        try:
            self.authenticate(method, path, query, body, headers, now)
            params: dict = dict(parse_qsl(query, keep_blank_values=True))
            if body:
                loaded = json.loads(body)
                if not isinstance(loaded, dict):
                    raise XtRequestError("GATEWAY_0002")
                params.update(loaded)
            if arg is not None:
                params["orderId"] = arg
            return 200, envelope(route(self, params, now))
        except XtRequestError as e:
            return e.status, {"rc": 1, "mc": e.mc, "ma": [], "result": None}
        except ValueError:
            return 400, {"rc": 1, "mc": "GATEWAY_0002", "ma": [], "result": None}

    # helpers ------------------------------------------------------------------------------------
    def _pair(self, params: Mapping[str, object], required: bool = True) -> PairData | None:
        name = params.get("symbol")
        if not name:
            if required:
                raise XtRequestError("GATEWAY_0001")
            return None
        pdata = self.public.by_id.get(str(name))
        if pdata is None or pdata.symbol not in self.sim.rules:
            raise XtRequestError("SYMBOL_001")
        return pdata

    @staticmethod
    def _int(params: Mapping[str, object], name: str) -> int | None:
        raw = params.get(name)
        if raw is None or raw == "":
            return None
        text = str(raw)
        if not text.isdigit() or len(text) > 20:
            raise XtRequestError("GATEWAY_0002")
        return int(text)

    def _limit(self, params: Mapping[str, object]) -> int:
        limit = self._int(params, "limit") or self._int(params, "size")
        return MAX_LIMIT if limit is None else max(1, min(limit, MAX_LIMIT))

    def order_json(self, o: Order, trades: list[Trade]) -> dict:
        rules = self.sim.rules[o.symbol]
        fee_ccy = rules.base if (o.side == "BUY" and self.sim.fee_asset == "received") else rules.quote
        fee = sum((t.commission for t in trades), ZERO)
        avg = o.cum_quote / o.executed_qty if o.executed_qty > 0 else ZERO
        return {"symbol": self.id_of[o.symbol], "orderId": str(o.order_id), "clientOrderId": o.client_order_id,
                "baseCurrency": rules.base.lower(), "quoteCurrency": rules.quote.lower(), "side": o.side,
                "type": o.type, "timeInForce": o.time_in_force or "FOK", "price": _s(o.price),
                "origQty": _s(o.orig_qty), "origQuoteQty": _s(o.orig_quote_qty), "executedQty": _s(o.executed_qty),
                "leavingQty": _s(o.remaining if o.is_open else ZERO), "tradeBase": _s(o.executed_qty),
                "tradeQuote": _s(o.cum_quote), "avgPrice": _s(avg), "fee": _s(fee), "feeCurrency": fee_ccy.lower(),
                "closed": not o.is_open, "state": o.status, "time": o.time, "updatedTime": o.update_time}

    def trade_json(self, t: Trade) -> dict:
        rules = self.sim.rules[t.symbol]
        return {"symbol": self.id_of[t.symbol], "tradeId": str(t.id), "orderId": str(t.order_id),
                "orderSide": t.side, "orderType": "MARKET", "bizType": "SPOT", "time": t.time, "price": _s(t.price),
                "quantity": _s(t.qty), "quoteQty": _s(t.quote_qty), "baseCurrency": rules.base.lower(),
                "quoteCurrency": rules.quote.lower(), "fee": _s(t.commission),
                "feeCurrency": (t.commission_asset or rules.quote).lower(),
                "takerMaker": "MAKER" if t.maker else "TAKER"}

    def _orders_json(self, orders: list[Order], now: int) -> list[dict]:
        trades: dict[int, list[Trade]] = {}
        for t in self.sim.list_trades(now):
            trades.setdefault(t.order_id, []).append(t)
        return [self.order_json(o, trades.get(o.order_id, [])) for o in orders]

    # endpoints ------------------------------------------------------------------------------------
    def balances(self, params: Mapping[str, str], now: int) -> dict:
        b = self.sim.account(now)
        wanted = {c.upper() for c in str(params.get("currencies") or params.get("currency") or "").split(",") if c}
        assets = [{"currency": a.lower(), "currencyId": 0, "availableAmount": _s(b.get_free(a)),
                   "frozenAmount": _s(b.get_locked(a)), "totalAmount": _s(b.get_free(a) + b.get_locked(a)),
                   "convertBtcAmount": "0", "convertUsdtAmount": "0"}
                  for a in b.assets() if not wanted or a in wanted]
        return {"totalBtcAmount": "0", "totalUsdtAmount": "0", "assets": assets}

    def balance(self, params: Mapping[str, str], now: int) -> dict:
        rows = self.balances(params, now)["assets"]
        return rows[0] if rows else {}

    def place(self, params: dict, now: int) -> dict:
        pdata = self._pair(params)
        assert pdata is not None
        side, order_type = str(params.get("side") or ""), str(params.get("type") or "")
        if side not in ("BUY", "SELL") or order_type not in ("MARKET", "LIMIT"):
            raise XtRequestError("GATEWAY_0002")
        if params.get("bizType") not in (None, "SPOT"):
            raise XtRequestError("ORDER_001")
        tif = str(params.get("timeInForce") or ("FOK" if order_type == "MARKET" else "GTC"))
        by_quote = order_type == "MARKET" and side == "BUY"
        try:
            amount = dec(str(params["quoteQty"] if by_quote else params["quantity"]))
            price = dec(str(params["price"])) if order_type == "LIMIT" else None
            if amount <= 0 or (price is not None and price <= 0):
                raise ValueError
        except (KeyError, ValueError):
            raise XtRequestError("GATEWAY_0002") from None
        cl_id = str(params.get("clientOrderId") or "")
        try:
            order, _ = self.sim.place(pdata.symbol, side, order_type, now, qty=None if by_quote else amount,
                                      quote_qty=amount if by_quote else None, price=price, client_id=cl_id,
                                      time_in_force=tif if order_type == "LIMIT" else "GTC")
        except Rejected as r:
            mc = rejection(r)
            self.sim.record_rejection({"time": now, "symbol": pdata.symbol, "side": side, "type": order_type,
                                       "origQty": None if by_quote else str(amount),
                                       "quoteOrderQty": str(amount) if by_quote else None, "clientOrderId": cl_id,
                                       "code": mc, "msg": mc})
            log_rejection("xt", pdata.symbol, side, order_type, amount, mc, "")
            raise XtRequestError(mc) from None
        return {"orderId": str(order.order_id)}

    def _order(self, params: Mapping[str, object], now: int) -> Order:
        oid = self._int(params, "orderId")
        cid = str(params.get("clientOrderId") or "") or None
        if oid is None and cid is None:
            raise XtRequestError("GATEWAY_0001")
        for symbol in ([p.symbol] if (p := self._pair(params, required=False)) else list(self.id_of)):
            try:
                return self.sim.get_order(symbol, now, oid, cid)
            except Rejected:
                continue
        raise XtRequestError("ORDER_005")

    def order_by_id(self, params: Mapping[str, str], now: int) -> dict:
        return self._orders_json([self._order(params, now)], now)[0]

    def cancel(self, params: Mapping[str, str], now: int) -> dict:
        o = self._order(params, now)
        try:
            self.sim.cancel(o.symbol, now, o.order_id)
        except Rejected as r:
            raise XtRequestError(rejection(r)) from None
        return {"cancelId": str(o.order_id)}

    def _orders(self, params: Mapping[str, str], now: int, open_only: bool) -> list[Order]:
        pdata = self._pair(params, required=False)
        rows = self.sim.list_orders(now, pdata.symbol if pdata else None, open_only=open_only)
        state = params.get("state")
        start, end = self._int(params, "startTime"), self._int(params, "endTime")
        rows = [o for o in rows if (not state or o.status == state) and (start is None or o.time >= start)
                and (end is None or o.time <= end)]
        rows.sort(key=lambda o: o.order_id, reverse=True)
        return rows[:self._limit(params)]

    def open_orders(self, params: Mapping[str, str], now: int) -> list:
        return self._orders_json(self._orders(params, now, True), now)

    def history(self, params: Mapping[str, str], now: int) -> dict:
        return {"hasPrev": False, "hasNext": False, "items": self._orders_json(self._orders(params, now, False), now)}

    def trades(self, params: Mapping[str, str], now: int) -> dict:
        pdata = self._pair(params, required=False)
        oid = self._int(params, "orderId")
        start, end = self._int(params, "startTime"), self._int(params, "endTime")
        rows = [t for t in self.sim.list_trades(now, pdata.symbol if pdata else None)
                if (oid is None or t.order_id == oid) and (start is None or t.time >= start)
                and (end is None or t.time <= end)]
        rows.sort(key=lambda t: t.id, reverse=True)
        return {"hasPrev": False, "hasNext": False, "items": [self.trade_json(t) for t in rows[:self._limit(params)]]}


ROUTES = {
    ("GET", "/v4/balances"): XtSpot.balances,
    ("GET", "/v4/balance"): XtSpot.balance,
    ("POST", "/v4/order"): XtSpot.place,
    ("GET", "/v4/order"): XtSpot.order_by_id,
    ("GET", "/v4/open-order"): XtSpot.open_orders,
    ("GET", "/v4/history-order"): XtSpot.history,
    ("GET", "/v4/trade"): XtSpot.trades,
}
