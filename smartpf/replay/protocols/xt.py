"""XT's public REST API (spot v4, and the futures symbol lists) in front of the replay market: what
ccxt 4.5.90's ``xt`` class calls for Freqtrade in dry-run and for downloads, in XT's envelope
``{"rc": 0, "mc": "SUCCESS", "ma": [], "result": ...}``.

ccxt's ``fetch_markets`` always asks the linear and the inverse futures hosts for their symbol
lists too, and ``load_markets`` fetches currencies (two public spot paths): the configs point all
four API URLs here, futures under ``/fapi`` and ``/dapi`` (their paths are identical, only the host
differs on XT), and both lists are empty (the replay serves spot only). Spot: ``symbol`` (the ccxt
file's raw XT symbols), ``time``, ``currencies``, ``wallet/support/currency``, ``ticker/24h``,
``ticker/book``, ``ticker/price``, ``depth`` and ``kline``. XT's 24h ticker has no bid or ask (so
Freqtrade prices from the order book on XT, see user_data/config.replay-xt.json). ``kline`` pages
forward: the first ``limit`` (at most 1000) candles from ``startTime`` (the latest ones without it),
``endTime`` inclusive. The signed endpoints are in ``xt_private`` (with ``--accounts``).
"""

from __future__ import annotations

import time
from pathlib import Path

from smartpf.errors import VenueError
from smartpf.replay.exchange.data import PairData
from smartpf.replay.exchange.market import Market, fmt
from smartpf.replay.protocols.front import TIMESTAMP
from smartpf.replay.protocols.public import candle_fields, raw_markets, select_candles

SPOT = "/v4/public/"
FUTURES_LISTS = ("/fapi/future/market/v1/public/symbol/list", "/dapi/future/market/v1/public/symbol/list")
KLINE_MAX, DEPTH_MAX = 1000, 500
INTERVALS = {"1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h", "1d", "3d", "1w", "1M"}


class XtError(VenueError):
    def __init__(self, mc: str, status: int = 400) -> None:
        super().__init__(mc)
        self.mc, self.status = mc, status


def envelope(result: object) -> dict:
    return {"rc": 0, "mc": "SUCCESS", "ma": [], "result": result}


def error_body(status: int, code: object, msg: str) -> dict:
    """A replay fault or error in XT's shape (ccxt maps "429", "503", "500" by name; a stale timestamp,
    Binance's -1021, is XT's AUTH_105)."""
    if code in (-1021, TIMESTAMP):  # (a fault sends the kind; an order check, Binance's code)
        return {"rc": 1, "mc": "AUTH_105", "ma": [msg], "result": None}
    return {"rc": 1, "mc": str(status), "ma": [msg], "result": None}


class XtPublic:
    """Answers XT public paths: ``route`` gives (status, JSON-able body), or None for an unknown path."""

    name = "xt"

    def __init__(self, market: Market, markets_file: Path) -> None:
        self.market = market
        self.symbols = raw_markets(markets_file, market, "xt", "pricePrecision")
        by_pair = {p.pair: p for p in market.pairs.values()}
        self.by_id: dict[str, PairData] = {info["symbol"]: by_pair[pair] for pair, info in self.symbols.items()}

    error_body = staticmethod(error_body)

    @staticmethod
    def is_private(path: str) -> bool:
        """Its signed API is not served here: every path is public (an unknown one is a 404)."""
        return False

    def route(self, method: str, path: str, q: dict[str, str], now: int) -> tuple[int, object] | None:
        if method not in ("GET", "HEAD"):
            return None
        if path in FUTURES_LISTS:
            return 200, {"returnCode": 0, "msgInfo": "success", "error": None, "result": []}
        if not path.startswith(SPOT):
            return None
        handler = ROUTES.get(path[len(SPOT):])
        if handler is None:
            return None
        try:
            return 200, envelope(handler(self, q, now))
        except XtError as e:
            return e.status, {"rc": 1, "mc": e.mc, "ma": [], "result": None}

    # ------------------------------------------------------------------ parameters
    def _symbol(self, q: dict[str, str]) -> PairData:
        name = q.get("symbol")
        if not name:
            raise XtError("GATEWAY_0001")  # parameter missing
        pdata = self.by_id.get(name)
        if pdata is None:
            raise XtError("SYMBOL_001")
        return pdata

    def _selected(self, q: dict[str, str]) -> list[PairData]:
        """``symbol=``, ``symbols=a,b`` or every served symbol."""
        if q.get("symbol"):
            return [self._symbol(q)]
        if q.get("symbols"):
            return [self._symbol({"symbol": s}) for s in q["symbols"].split(",") if s]
        return list(self.by_id.values())

    @staticmethod
    def _int(q: dict[str, str], name: str) -> int | None:
        raw = q.get(name)
        if raw is None or raw == "":
            return None
        if not raw.isdigit() or len(raw) > 20:
            raise XtError("GATEWAY_0002")  # parameter error
        return int(raw)

    def _id(self, pdata: PairData) -> str:
        return self.symbols[pdata.pair]["symbol"]

    # ------------------------------------------------------------------ endpoints
    def symbol(self, q: dict[str, str], now: int) -> dict:
        return {"time": int(time.time() * 1000), "version": "smartpf-replay",
                "symbols": [self.symbols[p.pair] for p in self._selected(q)]}

    def server_time(self, q: dict[str, str], now: int) -> dict:
        return {"serverTime": int(time.time() * 1000)}

    def _coins(self) -> dict[str, int]:
        """Every base and quote coin of the served symbols, with the precision XT states for it."""
        coins: dict[str, int] = {}
        for info in self.symbols.values():
            for side in ("base", "quote"):
                coins[info[f"{side}Currency"]] = int(info.get(f"{side}CurrencyPrecision") or 8)
        return coins

    def currencies(self, q: dict[str, str], now: int) -> dict:
        rows = [{"id": i + 1, "currency": c, "fullName": c.upper(), "logo": "", "cmcLink": "", "weight": 100,
                 "maxPrecision": precision, "depositStatus": 1, "withdrawStatus": 1, "convertEnabled": 1,
                 "transferEnabled": 1, "type": "FT"}
                for i, (c, precision) in enumerate(sorted(self._coins().items()))]
        return {"time": int(time.time() * 1000), "version": "smartpf-replay", "currencies": rows}

    def support_currency(self, q: dict[str, str], now: int) -> list:
        return [{"currency": c, "supportChains": []} for c in sorted(self._coins())]

    def ticker_24h(self, q: dict[str, str], now: int) -> list:
        out = []
        for pdata in self._selected(q):
            t = self.market.ticker_24h(pdata, now)
            change = float(t["priceChangePercent"]) / 100
            out.append({"s": self._id(pdata), "t": t["closeTime"], "cv": t["priceChange"], "cr": f"{change:.4f}",
                        "o": t["openPrice"], "l": t["lowPrice"], "h": t["highPrice"], "c": t["lastPrice"],
                        "q": t["volume"], "v": t["quoteVolume"]})
        return out

    def ticker_book(self, q: dict[str, str], now: int) -> list:
        out = []
        for pdata in self._selected(q):
            b = self.market.quote(pdata, now)
            out.append({"s": self._id(pdata), "t": b["time"], "ap": fmt(b["ask"]), "aq": fmt(b["ask_qty"]),
                        "bp": fmt(b["bid"]), "bq": fmt(b["bid_qty"])})
        return out

    def ticker_price(self, q: dict[str, str], now: int) -> list:
        out = []
        for pdata in self._selected(q):
            b = self.market.quote(pdata, now)
            out.append({"s": self._id(pdata), "t": b["time"], "p": fmt(b["last"])})
        return out

    def depth(self, q: dict[str, str], now: int) -> dict:
        pdata = self._symbol(q)
        limit = self._int(q, "limit")
        limit = 50 if limit is None else limit
        if not 1 <= limit <= DEPTH_MAX:
            raise XtError("GATEWAY_0002")
        d = self.market.depth(pdata, limit, now)
        return {"timestamp": d["lastUpdateId"], "lastUpdateId": d["lastUpdateId"], "bids": d["bids"],
                "asks": d["asks"]}

    def kline(self, q: dict[str, str], now: int) -> list:
        pdata = self._symbol(q)
        interval = q.get("interval")
        if interval not in INTERVALS:
            raise XtError("GATEWAY_0002")
        limit = self._int(q, "limit")
        limit = 100 if limit is None else limit
        if limit < 1:
            raise XtError("GATEWAY_0002")
        start, end = self._int(q, "startTime"), self._int(q, "endTime")
        rows = select_candles(self.market, pdata, interval, now, min(limit, KLINE_MAX), start, end,
                              latest=start is None)
        if rows is None:
            return []
        return [{"t": t, "o": o, "c": c, "h": h, "l": lo, "q": v, "v": qv}
                for t, o, h, lo, c, v, qv in candle_fields(rows)]


ROUTES = {
    "symbol": XtPublic.symbol,
    "time": XtPublic.server_time,
    "currencies": XtPublic.currencies,
    "wallet/support/currency": XtPublic.support_currency,
    "ticker/24h": XtPublic.ticker_24h,
    "ticker/book": XtPublic.ticker_book,
    "ticker/price": XtPublic.ticker_price,
    "depth": XtPublic.depth,
    "kline": XtPublic.kline,
}
