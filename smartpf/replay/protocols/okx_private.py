"""OKX's signed spot API (v5) in front of the exchange simulator: what ccxt 4.5.90's ``okx`` class
sends for Freqtrade trading spot with ``dry_run: false``, answered in OKX's envelope and codes.

Signing (checked like OKX): headers ``OK-ACCESS-KEY``, ``OK-ACCESS-PASSPHRASE``,
``OK-ACCESS-TIMESTAMP`` (ISO 8601 with milliseconds, at most 30 s from the server's clock) and
``OK-ACCESS-SIGN`` = base64(HMAC-SHA256(secret, timestamp + method + path[?query] + body)).

Served: ``asset/currencies`` (ccxt's ``load_markets`` asks for it once it has keys),
``account/balance``; ``trade/batch-orders`` (ccxt's default for createOrder) and ``trade/order``
(place, and order details by ``ordId`` or ``clOrdId``); ``trade/cancel-order``;
``trade/orders-pending``; ``trade/orders-history`` and ``-archive`` (``state``, ``begin``, ``end``);
``trade/fills`` and ``trade/fills-history`` (``ordId``, ``begin``, ``end``). OKX quotes fees as
negative numbers (ccxt flips the sign); a market buy's ``sz`` is in the base coin unless
``tgtCcy=quote_ccy``. Order failures come as ``code "1"`` with the order's ``sCode``/``sMsg``
(51008 insufficient balance, 51121 lot size, 51020 minimum amount, 51603 no such order ...).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from urllib.parse import parse_qsl

from smartpf.errors import ReplayError
from smartpf.replay.exchange import simulator as sim_mod
from smartpf.replay.exchange.amounts import ZERO, dec, fmt8
from smartpf.replay.exchange.data import PairData
from smartpf.replay.exchange.orders import Order, Trade
from smartpf.replay.exchange.simulator import ExchangeSimulator, Rejected
from smartpf.replay.protocols.okx import OkxPublic
from smartpf.replay.protocols.signed import log_rejection

# The credentials written in user_data/config.replay-live-okx.json: accepted when none are given.
DEFAULT_API_KEY = "smartpf-replay-okx-key-not-real"
DEFAULT_API_SECRET = "smartpf-replay-okx-secret-not-real"
DEFAULT_PASSPHRASE = "smartpf-replay-passphrase"
PRIVATE_PREFIXES = ("/api/v5/account/", "/api/v5/trade/", "/api/v5/asset/")
PLACE_PATHS = ("/api/v5/trade/batch-orders", "/api/v5/trade/order")
TIME_WINDOW_MS = 30_000  # OKX: a request whose timestamp is 30 s off the server's is refused
MAX_LIMIT = 100


class OkxAuthError(ReplayError):
    def __init__(self, code: str, msg: str, status: int = 401) -> None:
        super().__init__(msg)
        self.code, self.msg, self.status = code, msg, status


class OkxRequestError(ReplayError):
    """A whole request refused (``code`` != 0, no per-order ``sCode``)."""

    def __init__(self, code: str, msg: str, status: int = 400) -> None:
        super().__init__(msg)
        self.code, self.msg, self.status = code, msg, status


# simulator rejection -> (sCode, sMsg); FILTER_FAILURE picks by the filter's name below
REJECTIONS: dict[str, tuple[str, str]] = {
    sim_mod.INSUFFICIENT_BALANCE: ("51008", "Order failed. Insufficient balance in account."),
    sim_mod.MARKET_CLOSED: ("51001", "Instrument ID doesn't exist or trading is suspended."),
    sim_mod.UNKNOWN_SYMBOL: ("51001", "Instrument ID, Instrument ID code, or Spread ID doesn't exist."),
    sim_mod.UNSUPPORTED_TYPE: ("51000", "Parameter ordType error"),
    sim_mod.DUPLICATE_ORDER: ("51016", "Duplicated client order ID"),
    sim_mod.ORDER_NOT_FOUND: ("51603", "Order does not exist"),
    sim_mod.CANCEL_REJECTED: ("51400", "Order cancellation failed as the order has been filled, canceled or "
                              "does not exist."),
    sim_mod.INVALID_AMOUNT: ("51000", "Parameter sz error"),
}
FILTERS: dict[str, tuple[str, str]] = {
    "LOT_SIZE": ("51121", "Order quantity must be a multiple of the lot size."),
    "MARKET_LOT_SIZE": ("51202", "Market order amount exceeds the maximum amount."),
    "NOTIONAL": ("51020", "Your order should meet or exceed the minimum order amount."),
    "MIN_NOTIONAL": ("51020", "Your order should meet or exceed the minimum order amount."),
    "PRICE_FILTER": ("51006", "Order price is not within the price limit."),
}
STATES = {"NEW": "live", "PARTIALLY_FILLED": "partially_filled", "FILLED": "filled", "CANCELED": "canceled",
          "EXPIRED": "canceled", "REJECTED": "canceled"}


def rejection(r: Rejected) -> tuple[str, str]:
    if r.reason == sim_mod.FILTER_FAILURE:
        return FILTERS.get(r.detail, ("51000", f"Parameter sz error ({r.detail})"))
    return REJECTIONS[r.reason]


def _s(value: Decimal) -> str:
    """OKX's decimal strings: no trailing zeros."""
    text = fmt8(value)
    return text.rstrip("0").rstrip(".") if "." in text else text


def parse_timestamp(raw: str) -> int:
    """``2026-04-01T12:00:00.123Z`` -> ms; ValueError if it is not OKX's ISO form."""
    if not raw.endswith("Z") or "T" not in raw:
        raise ValueError(raw)
    return int(datetime.fromisoformat(raw[:-1] + "+00:00").timestamp() * 1000)


class OkxSpot:
    """Signed endpoints of one account in OKX's shape: ``handle`` answers (status, JSON-able body)."""

    name = "okx"

    def __init__(self, sim: ExchangeSimulator, public: OkxPublic, api_key: str = DEFAULT_API_KEY,
                 api_secret: str = DEFAULT_API_SECRET, passphrase: str = DEFAULT_PASSPHRASE) -> None:
        self.sim = sim
        self.public = public
        self.api_key, self.api_secret, self.passphrase = api_key, api_secret.encode(), passphrase
        self.inst_of = {p.symbol: info["instId"] for p, info in
                        ((public.by_id[i["instId"]], i) for i in public.instruments.values())}

    # the server's questions ------------------------------------------------------------------
    @staticmethod
    def is_private(path: str) -> bool:
        return path.startswith(PRIVATE_PREFIXES)

    @staticmethod
    def is_placement(method: str, path: str) -> bool:
        return method == "POST" and path in PLACE_PATHS

    def authenticate(self, method: str, path: str, query: str, body: str, headers: Mapping[str, str],
                     now: int) -> None:
        """Check key, passphrase, timestamp and signature like OKX (its codes: 50102..50113)."""
        given = {h: headers.get(f"OK-ACCESS-{h}") for h in ("KEY", "PASSPHRASE", "TIMESTAMP", "SIGN")}
        for header, code in (("KEY", "50103"), ("PASSPHRASE", "50104"), ("SIGN", "50106"), ("TIMESTAMP", "50107")):
            if not given[header]:
                raise OkxAuthError(code, f'Request header "OK-ACCESS-{header}" cannot be empty.')
        if given["KEY"] != self.api_key:
            raise OkxAuthError("50111", "Invalid OK-ACCESS-KEY.")
        if given["PASSPHRASE"] != self.passphrase:
            raise OkxAuthError("50105", 'Request header "OK-ACCESS-PASSPHRASE" incorrect.')
        ts_raw = str(given["TIMESTAMP"])
        try:
            ts = parse_timestamp(ts_raw)
        except ValueError:
            raise OkxAuthError("50112", "Invalid OK-ACCESS-TIMESTAMP.") from None
        if abs(now - ts) > TIME_WINDOW_MS:
            raise OkxAuthError("50102", "Timestamp request expired.")
        prehash = ts_raw + method + path + (f"?{query}" if query else "") + body
        expected = base64.b64encode(hmac.new(self.api_secret, prehash.encode(), hashlib.sha256).digest()).decode()
        if not hmac.compare_digest(expected, str(given["SIGN"])):
            raise OkxAuthError("50113", "Invalid Sign.")

    def handle(self, method: str, path: str, query: str, body: str, headers: Mapping[str, str],
               now: int) -> tuple[int, object]:
        route = ROUTES.get((method, path))
        if route is None:
            raise LookupError(path)
        try:
            self.authenticate(method, path, query, body, headers, now)
            if method == "GET":
                params: object = dict(parse_qsl(query, keep_blank_values=True))
            else:
                params = json.loads(body) if body else {}
            return route(self, params, now)
        except (OkxAuthError, OkxRequestError) as e:
            return e.status, {"code": e.code, "msg": e.msg, "data": []}
        except ValueError:
            return 400, {"code": "50002", "msg": "JSON syntax error.", "data": []}

    # helpers ------------------------------------------------------------------------------------
    def _pair(self, params: Mapping[str, object]) -> PairData:
        inst = params.get("instId")
        if not inst:
            raise OkxRequestError("50014", "Parameter instId can not be empty.")
        pdata = self.public.by_id.get(str(inst))
        if pdata is None or pdata.symbol not in self.sim.rules:
            raise OkxRequestError("51001", "Instrument ID, Instrument ID code, or Spread ID doesn't exist.")
        return pdata

    def _pairs(self, params: Mapping[str, object]) -> str | None:
        """The simulator's symbol of ``instId``, or None when it is not given (every pair)."""
        return self._pair(params).symbol if params.get("instId") else None

    @staticmethod
    def _int(params: Mapping[str, object], name: str) -> int | None:
        raw = params.get(name)
        if raw is None or raw == "":
            return None
        text = str(raw)
        if not text.isdigit() or len(text) > 20:
            raise OkxRequestError("51000", f"Parameter {name} error")
        return int(text)

    def _limit(self, params: Mapping[str, object]) -> int:
        limit = self._int(params, "limit")
        return MAX_LIMIT if limit is None else max(1, min(limit, MAX_LIMIT))

    def order_json(self, o: Order, trades: list[Trade]) -> dict:
        """An order as ``trade/order``, ``orders-pending`` and ``orders-history`` answer it."""
        rules = self.sim.rules[o.symbol]
        fee_ccy = rules.base if (o.side == "BUY" and self.sim.fee_asset == "received") else rules.quote
        fee = sum((t.commission for t in trades), ZERO)
        last = trades[-1] if trades else None
        quote_buy = o.type == "MARKET" and o.side == "BUY" and o.orig_quote_qty > 0
        out = {
            "instType": "SPOT", "instId": self.inst_of[o.symbol], "ordId": str(o.order_id),
            "clOrdId": o.client_order_id, "tag": "", "side": o.side.lower(), "ordType": o.type.lower(),
            "tdMode": "cash", "posSide": "net", "sz": _s(o.orig_quote_qty if quote_buy else o.orig_qty),
            "tgtCcy": "quote_ccy" if quote_buy else "base_ccy", "accFillSz": _s(o.executed_qty),
            "fillPx": _s(last.price) if last else "", "fillSz": _s(last.qty) if last else "",
            "fillTime": str(last.time) if last else "", "tradeId": str(last.id) if last else "",
            "state": STATES.get(o.status, "canceled"), "fee": _s(-fee) if fee else "0", "feeCcy": fee_ccy,
            "rebate": "0", "rebateCcy": rules.quote, "pnl": "0", "category": "normal", "source": "",
            "reduceOnly": "false", "cTime": str(o.time), "uTime": str(o.update_time),
        }
        if o.type == "LIMIT":
            out["px"] = _s(o.price)
        if o.executed_qty > 0:
            out["avgPx"] = _s(o.cum_quote / o.executed_qty)
        return out

    def fill_json(self, t: Trade) -> dict:
        rules = self.sim.rules[t.symbol]
        return {"instType": "SPOT", "instId": self.inst_of[t.symbol], "tradeId": str(t.id), "ordId": str(t.order_id),
                "clOrdId": "",
                "billId": str(t.id), "tag": "", "fillPx": _s(t.price), "fillSz": _s(t.qty),
                "side": t.side.lower(), "posSide": "net", "execType": "M" if t.maker else "T",
                "feeCcy": t.commission_asset or rules.quote, "fee": _s(-t.commission) if t.commission else "0",
                "ts": str(t.time), "fillTime": str(t.time)}

    def _orders_json(self, orders: list[Order], now: int) -> list[dict]:
        trades: dict[int, list[Trade]] = {}
        for t in self.sim.list_trades(now):
            trades.setdefault(t.order_id, []).append(t)
        return [self.order_json(o, trades.get(o.order_id, [])) for o in orders]

    # endpoints ------------------------------------------------------------------------------------
    def balance(self, params: Mapping[str, str], now: int) -> tuple[int, dict]:
        balances = self.sim.account(now)
        wanted = {c for c in str(params.get("ccy") or "").split(",") if c}
        details = []
        for asset in balances.assets():
            if wanted and asset not in wanted:
                continue
            free, locked = balances.get_free(asset), balances.get_locked(asset)
            if free == 0 and locked == 0:
                continue  # OKX lists only the currencies held
            details.append({"ccy": asset, "eq": _s(free + locked), "cashBal": _s(free + locked),
                            "availBal": _s(free), "availEq": _s(free), "frozenBal": _s(locked),
                            "ordFrozen": _s(locked), "uTime": str(now)})
        return 200, {"code": "0", "msg": "", "data": [{"uTime": str(now), "totalEq": "", "details": details}]}

    def currencies(self, params: Mapping[str, str], now: int) -> tuple[int, dict]:
        """Every coin of the served instruments, one chain each (deposits and withdrawals are not served)."""
        coins = sorted({c for info in self.public.instruments.values() for c in (info["baseCcy"], info["quoteCcy"])})
        data = [{"ccy": c, "name": c, "chain": f"{c}-{c}", "canDep": False, "canWd": False, "canInternal": False,
                 "minWd": "0", "maxWd": "0", "fee": "0", "minFee": "0", "maxFee": "0", "wdTickSz": "8",
                 "mainNet": True, "logoLink": ""} for c in coins]
        return 200, {"code": "0", "msg": "", "data": data}

    def _place_one(self, req: object, now: int) -> dict:
        """One order of a placement request: its ``data`` row (``sCode`` "0" when placed)."""
        if not isinstance(req, dict):
            raise OkxRequestError("50002", "JSON syntax error.")
        cl_id = str(req.get("clOrdId") or "")
        tag = str(req.get("tag") or "")
        row = {"ordId": "", "clOrdId": cl_id, "tag": tag, "ts": str(now)}
        pdata = self._pair(req)
        side, ord_type = req.get("side"), req.get("ordType")
        if side not in ("buy", "sell"):
            raise OkxRequestError("51000", "Parameter side error")
        if req.get("tdMode") != "cash":
            raise OkxRequestError("51000", "Parameter tdMode error")
        types = {"market": ("MARKET", "GTC"), "limit": ("LIMIT", "GTC"), "ioc": ("LIMIT", "IOC"),
                 "fok": ("LIMIT", "FOK")}
        if ord_type not in types:
            raise OkxRequestError("51000", "Parameter ordType error")
        order_type, tif = types[str(ord_type)]
        try:
            size = dec(req.get("sz"))
            price = dec(req["px"]) if order_type == "LIMIT" else None
            if size <= 0 or (price is not None and price <= 0):
                raise ValueError
        except (KeyError, ValueError, TypeError):
            raise OkxRequestError("51000", "Parameter sz error" if "sz" not in req or order_type == "MARKET"
                                  else "Parameter px error") from None
        tgt = req.get("tgtCcy") or "base_ccy"
        by_quote = order_type == "MARKET" and side == "buy" and tgt == "quote_ccy"
        try:
            order, _ = self.sim.place(pdata.symbol, str(side).upper(), order_type, now,
                                      qty=None if by_quote else size, quote_qty=size if by_quote else None,
                                      price=price, client_id=cl_id, time_in_force=tif)
        except Rejected as r:
            code, msg = rejection(r)
            self.sim.record_rejection({"time": now, "symbol": pdata.symbol, "side": str(side).upper(),
                                       "type": order_type, "origQty": None if by_quote else str(size),
                                       "quoteOrderQty": str(size) if by_quote else None, "clientOrderId": cl_id,
                                       "code": code, "msg": msg})
            log_rejection("okx", pdata.symbol, str(side).upper(), order_type, size, code, msg)
            return {**row, "sCode": code, "sMsg": msg}
        return {**row, "ordId": str(order.order_id), "sCode": "0", "sMsg": "Order placed"}

    def place(self, params: object, now: int) -> tuple[int, dict]:
        many = isinstance(params, list)
        requests = params if isinstance(params, list) else [params]
        if not requests or len(requests) > 20:
            raise OkxRequestError("51000", "Parameter data error")
        rows = [self._place_one(r, now) for r in requests]
        failed = sum(r["sCode"] != "0" for r in rows)
        if failed == 0:
            return 200, {"code": "0", "msg": "", "data": rows}
        if failed == len(rows):
            return 200, {"code": "1", "msg": "All operations failed" if many else "Operation failed.", "data": rows}
        return 200, {"code": "2", "msg": "Bulk operation partially succeeded.", "data": rows}

    def place_single(self, params: object, now: int) -> tuple[int, dict]:
        if isinstance(params, list):
            raise OkxRequestError("50002", "JSON syntax error.")
        return self.place(params, now)

    def _find(self, params: Mapping[str, object], now: int) -> Order:
        pdata = self._pair(params)
        oid, cid = self._int(params, "ordId"), str(params.get("clOrdId") or "") or None
        if oid is None and cid is None:
            raise OkxRequestError("51000", "Parameter ordId error")
        try:
            return self.sim.get_order(pdata.symbol, now, oid, cid)
        except Rejected as r:
            code, msg = rejection(r)
            raise OkxRequestError(code, msg) from None

    def order(self, params: Mapping[str, str], now: int) -> tuple[int, dict]:
        o = self._find(params, now)
        return 200, {"code": "0", "msg": "", "data": self._orders_json([o], now)}

    def cancel(self, params: object, now: int) -> tuple[int, dict]:
        if not isinstance(params, dict):
            raise OkxRequestError("50002", "JSON syntax error.")
        o = self._find(params, now)
        row = {"ordId": str(o.order_id), "clOrdId": o.client_order_id, "ts": str(now)}
        try:
            self.sim.cancel(o.symbol, now, o.order_id)
        except Rejected as r:
            code, msg = rejection(r)
            return 200, {"code": "1", "msg": "Operation failed.", "data": [{**row, "sCode": code, "sMsg": msg}]}
        return 200, {"code": "0", "msg": "", "data": [{**row, "sCode": "0", "sMsg": ""}]}

    def _listed(self, params: Mapping[str, str], now: int, open_only: bool) -> list[Order]:
        symbol = self._pairs(params)
        if params.get("instType") not in (None, "", "SPOT"):
            return []
        rows = self.sim.list_orders(now, symbol, open_only=open_only)
        if not open_only:
            state = params.get("state")
            rows = [o for o in rows if not o.is_open and (not state or STATES.get(o.status) == state)]
        begin, end = self._int(params, "begin"), self._int(params, "end")
        rows = [o for o in rows if (begin is None or o.time >= begin) and (end is None or o.time <= end)]
        rows.sort(key=lambda o: o.order_id, reverse=True)  # newest first, like OKX
        return rows[:self._limit(params)]

    def pending(self, params: Mapping[str, str], now: int) -> tuple[int, dict]:
        return 200, {"code": "0", "msg": "", "data": self._orders_json(self._listed(params, now, True), now)}

    def history(self, params: Mapping[str, str], now: int) -> tuple[int, dict]:
        if not params.get("instType"):
            raise OkxRequestError("50014", "Parameter instType can not be empty.")
        return 200, {"code": "0", "msg": "", "data": self._orders_json(self._listed(params, now, False), now)}

    def fills(self, params: Mapping[str, str], now: int) -> tuple[int, dict]:
        symbol = self._pairs(params)
        oid = self._int(params, "ordId")
        begin, end = self._int(params, "begin"), self._int(params, "end")
        rows = [t for t in self.sim.list_trades(now, symbol)
                if (oid is None or t.order_id == oid) and (begin is None or t.time >= begin)
                and (end is None or t.time <= end)]
        rows.sort(key=lambda t: t.id, reverse=True)
        return 200, {"code": "0", "msg": "", "data": [self.fill_json(t) for t in rows[:self._limit(params)]]}


ROUTES = {
    ("GET", "/api/v5/asset/currencies"): OkxSpot.currencies,
    ("GET", "/api/v5/account/balance"): OkxSpot.balance,
    ("POST", "/api/v5/trade/batch-orders"): OkxSpot.place,
    ("POST", "/api/v5/trade/order"): OkxSpot.place_single,
    ("GET", "/api/v5/trade/order"): OkxSpot.order,
    ("POST", "/api/v5/trade/cancel-order"): OkxSpot.cancel,
    ("GET", "/api/v5/trade/orders-pending"): OkxSpot.pending,
    ("GET", "/api/v5/trade/orders-history"): OkxSpot.history,
    ("GET", "/api/v5/trade/orders-history-archive"): OkxSpot.history,
    ("GET", "/api/v5/trade/fills"): OkxSpot.fills,
    ("GET", "/api/v5/trade/fills-history"): OkxSpot.fills,
}
