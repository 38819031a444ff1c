"""OKX's public REST API (v5) in front of the replay market: what ccxt 4.5.90's ``okx`` class calls
for Freqtrade in dry-run and for downloads, answered in OKX's envelope ``{"code": "0", "msg": "", "data": [...]}``.

Served: ``public/instruments`` (the ccxt file's raw OKX instruments; spot only, other types are
empty), ``public/time``, ``system/status``, ``market/ticker(s)``, ``market/books(-full)``,
``market/candles`` (the latest 1440 bars only, like OKX) and ``market/history-candles``.
Candles follow OKX's paging: ``after`` = older than, ``before`` = newer than (both exclusive), the
newest ``limit`` (at most 300) of them, newest first. Bars of 6 hours and longer are served in
their UTC form (``6Hutc``, ``1Dutc``..., what ccxt sends); OKX's Hong Kong-aligned ``6H``/``1D``...
are refused (code 51000) rather than served on the wrong boundaries. The signed endpoints are in
``okx_private`` (with ``--accounts``).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from smartpf.errors import VenueError
from smartpf.replay.exchange.data import PairData
from smartpf.replay.exchange.market import Market
from smartpf.replay.protocols.front import TIMESTAMP
from smartpf.replay.protocols.public import candle_fields, raw_markets, select_candles

PREFIX = "/api/v5/"
CANDLES_MAX = 300
RECENT_BARS = 1440  # market/candles serves only the latest 1440 bars; older ones come from history-candles
BOOKS_MAX, BOOKS_FULL_MAX = 400, 5000
# OKX bar -> the replay's (Binance) interval name.
BARS = {"1m": "1m", "3m": "3m", "5m": "5m", "15m": "15m", "30m": "30m", "1H": "1h", "2H": "2h", "4H": "4h",
        "6Hutc": "6h", "12Hutc": "12h", "1Dutc": "1d", "1Wutc": "1w", "1Mutc": "1M"}
HK_BARS = {"6H", "12H", "1D", "2D", "3D", "5D", "1W", "1M", "3M"}
# A replay fault (outage, injected 5xx/429) as OKX words it: ccxt maps these codes.
FAULT_CODES = {429: "50011", 503: "50001"}


class OkxError(VenueError):
    def __init__(self, code: str, msg: str, status: int = 400) -> None:
        super().__init__(msg)
        self.code, self.msg, self.status = code, msg, status


def envelope(data: list) -> dict:
    return {"code": "0", "msg": "", "data": data}


def error_body(status: int, code: object, msg: str) -> dict:
    """A replay fault or error in OKX's shape (a stale timestamp, Binance's -1021, is OKX's 50102)."""
    if code in (-1021, TIMESTAMP):  # (a fault sends the kind; an order check, Binance's code)
        return {"code": "50102", "msg": "Timestamp request expired.", "data": []}
    return {"code": FAULT_CODES.get(status, "50013" if status >= 500 else "50000"), "msg": msg, "data": []}


class OkxPublic:
    """Answers OKX public paths: ``route`` gives (status, JSON-able body), or None for an unknown path."""

    name = "okx"

    def __init__(self, market: Market, markets_file: Path) -> None:
        self.market = market
        self.instruments = raw_markets(markets_file, market, "okx", "instId")
        by_pair = {p.pair: p for p in market.pairs.values()}
        self.by_id: dict[str, PairData] = {info["instId"]: by_pair[pair] for pair, info in self.instruments.items()}

    error_body = staticmethod(error_body)

    @staticmethod
    def is_private(path: str) -> bool:
        """Its signed API is not served here: every path is public (an unknown one is a 404)."""
        return False

    def route(self, method: str, path: str, q: dict[str, str], now: int) -> tuple[int, object] | None:
        if method not in ("GET", "HEAD") or not path.startswith(PREFIX):
            return None
        handler = ROUTES.get(path[len(PREFIX):])
        if handler is None:
            return None
        try:
            return 200, envelope(handler(self, q, now))
        except OkxError as e:
            return e.status, {"code": e.code, "msg": e.msg, "data": []}

    # ------------------------------------------------------------------ parameters
    def _inst(self, q: dict[str, str]) -> PairData:
        inst = q.get("instId")
        if not inst:
            raise OkxError("50014", "Parameter instId can not be empty.")
        pdata = self.by_id.get(inst)
        if pdata is None:
            raise OkxError("51001", "Instrument ID, Instrument ID code, or Spread ID doesn't exist.")
        return pdata

    @staticmethod
    def _int(q: dict[str, str], name: str, default: int | None = None) -> int | None:
        raw = q.get(name)
        if raw is None or raw == "":
            return default
        if not raw.isdigit() or len(raw) > 20:
            raise OkxError("51000", f"Parameter {name} error")
        return int(raw)

    def _spot(self, q: dict[str, str]) -> bool:
        inst_type = q.get("instType")
        if not inst_type:
            raise OkxError("50014", "Parameter instType can not be empty.")
        if inst_type not in ("SPOT", "MARGIN", "SWAP", "FUTURES", "OPTION"):
            raise OkxError("51000", "Parameter instType error")
        return inst_type == "SPOT"

    # ------------------------------------------------------------------ endpoints
    def instruments(self, q: dict[str, str], now: int) -> list:
        if not self._spot(q):
            return []  # the replay serves spot markets only
        if q.get("instId"):
            return [self.instruments[self._inst(q).pair]]
        return list(self.instruments.values())

    def server_time(self, q: dict[str, str], now: int) -> list:
        return [{"ts": str(int(time.time() * 1000))}]

    def system_status(self, q: dict[str, str], now: int) -> list:
        return []  # no maintenance scheduled

    def _ticker(self, pdata: PairData, now: int) -> dict:
        t = self.market.ticker_24h(pdata, now)
        inst = self.instruments[pdata.pair]["instId"]
        return {"instType": "SPOT", "instId": inst, "last": t["lastPrice"], "lastSz": t["lastQty"],
                "askPx": t["askPrice"], "askSz": t["askQty"], "bidPx": t["bidPrice"], "bidSz": t["bidQty"],
                "open24h": t["openPrice"], "high24h": t["highPrice"], "low24h": t["lowPrice"],
                "volCcy24h": t["quoteVolume"], "vol24h": t["volume"], "ts": str(t["closeTime"]),
                "sodUtc0": t["openPrice"], "sodUtc8": t["openPrice"]}

    def ticker(self, q: dict[str, str], now: int) -> list:
        return [self._ticker(self._inst(q), now)]

    def tickers(self, q: dict[str, str], now: int) -> list:
        if not self._spot(q):
            return []
        return [self._ticker(p, now) for p in self.by_id.values()]

    def _books(self, q: dict[str, str], now: int, full: bool) -> list:
        pdata = self._inst(q)
        size = self._int(q, "sz", 1)
        top = BOOKS_FULL_MAX if full else BOOKS_MAX
        if size is None or not 1 <= size <= top:
            raise OkxError("51000", "Parameter sz error")
        d = self.market.depth(pdata, size, now)
        return [{"asks": [[p, s, "0", "1"] for p, s in d["asks"]],
                 "bids": [[p, s, "0", "1"] for p, s in d["bids"]], "ts": str(d["lastUpdateId"])}]

    def books(self, q: dict[str, str], now: int) -> list:
        return self._books(q, now, full=False)

    def books_full(self, q: dict[str, str], now: int) -> list:
        return self._books(q, now, full=True)

    def _candles(self, q: dict[str, str], now: int, history: bool) -> list:
        pdata = self._inst(q)
        bar = q.get("bar") or "1m"
        interval = BARS.get(bar)
        if interval is None:
            if bar in HK_BARS:
                sys.stderr.write(f"smartpf replay: okx bar {bar} (Hong Kong time) is not served; use {bar}utc\n")
            raise OkxError("51000", "Parameter bar error")
        limit = self._int(q, "limit", 100)
        if limit is None or limit < 1:
            raise OkxError("51000", "Parameter limit error")
        limit = min(limit, CANDLES_MAX)
        after, before = self._int(q, "after"), self._int(q, "before")
        first = None if before is None else before + 1
        last = None if after is None else after - 1
        if not history:  # only the latest bars: cut the window to them
            recent = select_candles(self.market, pdata, interval, now, RECENT_BARS)
            if recent is None or len(recent) == 0:
                return []
            first = max(first or 0, int(recent.open_time[0]))
        rows = select_candles(self.market, pdata, interval, now, limit, first, last, latest=True)
        if rows is None:
            return []
        tf_ms = rows.tf_ms
        out = [[str(t), o, h, lo, c, v, qv, qv, "1" if t + tf_ms <= now else "0"]
               for t, o, h, lo, c, v, qv in candle_fields(rows)]
        out.reverse()  # OKX: newest first
        return out

    def candles(self, q: dict[str, str], now: int) -> list:
        return self._candles(q, now, history=False)

    def history_candles(self, q: dict[str, str], now: int) -> list:
        return self._candles(q, now, history=True)


ROUTES = {
    "public/instruments": OkxPublic.instruments,
    "public/time": OkxPublic.server_time,
    "system/status": OkxPublic.system_status,
    "market/ticker": OkxPublic.ticker,
    "market/tickers": OkxPublic.tickers,
    "market/books": OkxPublic.books,
    "market/books-full": OkxPublic.books_full,
    "market/candles": OkxPublic.candles,
    "market/history-candles": OkxPublic.history_candles,
}
