"""The exchange's answers: klines, tickers, book and average price, for a given "now".

Every method takes the effective real time ``now`` (ms) as an argument, so the model is testable
without a server or a real clock. Rows whose candle is complete before both "now" and the start of
scenario effects are served straight from the arrays; only the few candles touching "now" or a
scenario event are recomputed in Python.
"""

from __future__ import annotations

import json
import math
import threading

import numpy as np

from smartpf.replay.exchange.clock import Clock, partial_candle, path_price
from smartpf.replay.exchange.data import PairData, Series, resample
from smartpf.replay.exchange.scenario import Scenario
from smartpf.replay.exchange.timeframes import BINANCE_INTERVALS, timeframe_ms

DAY_MS = 86_400_000
# Intervals that are never derived by aggregation (calendar month; 3d has no documented anchor).
NOT_DERIVED = {"1M", "3d", "1s"}
# Quote currency value resting on each book level (the first level alone fills a normal order).
LEVEL_NOTIONAL = 25_000.0


def fmt(x: float) -> str:
    """Binance number format (8 decimals), falling back to the shortest exact form if that rounds."""
    s = f"{x:.8f}"
    return s if float(s) == x else repr(float(x))


def decimals(step: float) -> int:
    return max(0, min(12, -math.floor(math.log10(step) + 1e-9))) if step > 0 else 8


class Rows:
    """Served candles as arrays (real open times)."""

    __slots__ = ("open_time", "o", "h", "low", "c", "v", "tf_ms")

    def __init__(self, open_time: np.ndarray, o: np.ndarray, h: np.ndarray, low: np.ndarray, c: np.ndarray,
                 v: np.ndarray, tf_ms: int) -> None:
        self.open_time, self.o, self.h, self.low, self.c, self.v, self.tf_ms = open_time, o, h, low, c, v, tf_ms

    def __len__(self) -> int:
        return len(self.open_time)


class Market:
    """Answers for the served pairs under one clock and one scenario."""

    def __init__(self, exchange_info: dict, pairs: dict[str, PairData], clock: Clock,
                 scenario: Scenario | None = None) -> None:
        self.exchange_info = exchange_info
        self.pairs = pairs
        self.clock = clock
        self.scenario = scenario or Scenario()
        self._derived: dict[tuple[str, str], Series | None] = {}
        self._flat_price: dict[str, float] = {}
        self._lock = threading.Lock()
        self._price_dec = {s: decimals(p.tick) for s, p in pairs.items()}
        self._qty_dec = {s: decimals(p.step) for s, p in pairs.items()}

    # ----------------------------------------------------------------------------- series selection
    def timeframes(self) -> list[str]:
        tfs = {tf for p in self.pairs.values() for tf in p.series}
        return sorted(tfs, key=timeframe_ms)

    def series(self, pdata: PairData, tf: str) -> Series | None:
        """The file series, or one aggregated from the longest file timeframe that divides ``tf``."""
        if tf in pdata.series:
            return pdata.series[tf]
        key = (pdata.symbol, tf)
        with self._lock:
            if key in self._derived:
                return self._derived[key]
        derived = None
        if tf not in NOT_DERIVED:
            tf_ms = timeframe_ms(tf)
            sources = [s for s in pdata.series.values() if s.tf_ms < tf_ms and tf_ms % s.tf_ms == 0]
            if sources:
                derived = resample(max(sources, key=lambda s: s.tf_ms), tf)
        with self._lock:
            self._derived[key] = derived
        return derived

    def price_series(self, pdata: PairData, t_h: int) -> Series | None:
        """The finest series covering historical instant ``t_h``, else the one with the latest data
        before it, else the earliest one."""
        finest = pdata.finest()
        if not finest:
            return None
        for s in finest:
            if s.covers(t_h):
                return s
        before = [s for s in finest if s.first_open <= t_h]
        if before:
            return max(before, key=lambda s: (s.end, -s.tf_ms))
        return min(finest, key=lambda s: s.first_open)

    # ----------------------------------------------------------------------------- the price model
    def _hist_price(self, pdata: PairData, t_h: int) -> float:
        s = self.price_series(pdata, t_h)
        if s is None:
            return 0.0
        i = int(np.searchsorted(s.open_time, t_h, "right")) - 1
        if i < 0:
            return float(s.o[0])
        a = int(s.open_time[i])
        if a + s.tf_ms > t_h:
            return path_price(s.o[i], s.h[i], s.low[i], s.c[i], (t_h - a) / s.tf_ms)
        return float(s.c[i])

    def flat_price(self, pdata: PairData) -> float:
        """The price held constant in a flat scenario: the modelled price at the server start."""
        p = self._flat_price.get(pdata.symbol)
        if p is None:
            p = round(self._hist_price(pdata, self.clock.to_hist(self.clock.started_ms)),
                      self._price_dec[pdata.symbol])
            self._flat_price[pdata.symbol] = p
        return p

    def _partial(self, pdata: PairData, s: Series, i: int, e: int) -> tuple[float, float, float, float, float]:
        """Candle ``i`` of ``s`` as seen at historical instant ``e`` (inside it). Built from a finer
        series when one covers it, so every timeframe agrees with the ticker."""
        a = int(s.open_time[i])
        for f in pdata.finest():
            if f.tf_ms >= s.tf_ms or s.tf_ms % f.tf_ms or not (f.first_open <= a and f.end >= e):
                continue
            j0 = int(np.searchsorted(f.open_time, a, "left"))
            j1 = int(np.searchsorted(f.open_time, e, "left"))
            if j1 <= j0:
                break
            last = j1 - 1
            lo_a = int(f.open_time[last])
            if lo_a + f.tf_ms > e:
                po, ph, pl, pc, pv = partial_candle(f.o[last], f.h[last], f.low[last], f.c[last], f.v[last],
                                                    (e - lo_a) / f.tf_ms)
            else:
                po, ph, pl, pc, pv = f.o[last], f.h[last], f.low[last], f.c[last], f.v[last]
            h, low, v = ph, pl, pv
            if last > j0:
                h = max(h, float(f.h[j0:last].max()))
                low = min(low, float(f.low[j0:last].min()))
                v += float(f.v[j0:last].sum())
            o = f.o[j0] if last > j0 else po
            return float(o), float(h), float(low), float(pc), float(v)
        return partial_candle(s.o[i], s.h[i], s.low[i], s.c[i], s.v[i], (e - a) / s.tf_ms)

    def rows(self, pdata: PairData, s: Series, i0: int, i1: int, now: int) -> Rows:
        """Candles ``i0:i1`` of ``s`` as served at real time ``now`` (time-shifted, partial, scenario)."""
        clock = self.clock
        ot = s.open_time[i0:i1]
        o, h, low, c, v = s.o[i0:i1], s.h[i0:i1], s.low[i0:i1], s.c[i0:i1], s.v[i0:i1]
        if not clock.replay:
            return Rows(ot, o, h, low, c, v, s.tf_ms)
        vis = clock.to_hist(now)
        t0 = clock.to_hist(clock.started_ms)
        cut = min(vis, t0) if self.scenario.moves_prices else vis
        first = int(np.searchsorted(ot + s.tf_ms, cut, "right"))
        if first < len(ot):
            o, h, low, c, v = o.copy(), h.copy(), low.copy(), c.copy(), v.copy()
            dec = self._price_dec[pdata.symbol]
            has_events = pdata.symbol in self.scenario.by_symbol
            for k in range(first, len(ot)):
                a = int(ot[k])
                e = min(a + s.tf_ms, vis)
                e_p = min(e, t0) if self.scenario.flat else e
                if self.scenario.flat and a >= t0:
                    p0 = self.flat_price(pdata)
                    ro, rh, rl, rc, rv = p0, p0, p0, p0, v[k] * (e - a) / s.tf_ms
                elif e_p < a + s.tf_ms:
                    ro, rh, rl, rc, rv = self._partial(pdata, s, i0 + k, e_p)
                else:
                    ro, rh, rl, rc, rv = o[k], h[k], low[k], c[k], v[k]
                if has_events:
                    shift0 = clock.shift_ms - clock.started_ms
                    ma, me, mn, mx = self.scenario.multiplier_range(pdata.symbol, a + shift0, e + shift0)
                    ro, rc, rh, rl = ro * ma, rc * me, rh * mx, rl * mn
                if self.scenario.flat and a < t0 < e:
                    p0 = self.flat_price(pdata)
                    rh, rl = max(rh, p0), min(rl, p0)
                o[k], h[k], low[k], c[k] = round(ro, dec), round(rh, dec), round(rl, dec), round(rc, dec)
                v[k] = round(rv, 8)
        return Rows(ot + clock.shift_ms, o, h, low, c, v, s.tf_ms)

    # ----------------------------------------------------------------------------- endpoints
    def klines(self, pdata: PairData, interval: str, start: int | None, end: int | None, limit: int,
               now: int) -> list[list]:
        """Binance klines rows for real-time bounds (inclusive open-time bounds, like Binance)."""
        return json.loads(self.klines_json(pdata, interval, start, end, limit, now))

    def klines_json(self, pdata: PairData, interval: str, start: int | None, end: int | None, limit: int,
                    now: int) -> bytes:
        """The klines answer as JSON bytes: one ``%`` format per row, the hot path of the server."""
        s = self.series(pdata, interval)
        if s is None:
            return b"[]"
        clock = self.clock
        hi = int(np.searchsorted(s.open_time, clock.visible_until_hist(now), "right"))
        if end is not None:
            hi = min(hi, int(np.searchsorted(s.open_time, clock.to_hist(end), "right")))
        if start is not None:
            lo = int(np.searchsorted(s.open_time, clock.to_hist(start), "left"))
            hi = min(hi, lo + limit)
        else:
            lo = max(0, hi - limit)
        if hi <= lo:
            return b"[]"
        r = self.rows(pdata, s, lo, hi, now)
        qv = r.v * (r.o + r.c) * 0.5
        cols = [r.o, r.h, r.low, r.c, r.v]
        if all(bool((np.round(x, 8) == x).all()) for x in cols):
            fmt_row = '[%d,"%.8f","%.8f","%.8f","%.8f","%.8f",%d,"%.8f",0,"%.8f","%.8f","0"]'.__mod__
            rows = zip(r.open_time.tolist(), r.o.tolist(), r.h.tolist(), r.low.tolist(), r.c.tolist(),
                       r.v.tolist(), (r.open_time + (s.tf_ms - 1)).tolist(), qv.tolist(), (r.v * 0.5).tolist(),
                       (qv * 0.5).tolist(), strict=True)
            body = ",".join(map(fmt_row, rows))
        else:  # values with more than 8 decimals: keep them exact
            body = ",".join(
                f'[{t},"{fmt(o)}","{fmt(h)}","{fmt(lo_)}","{fmt(c)}","{fmt(v)}",{t + s.tf_ms - 1},"{q:.8f}",0,'
                f'"{v * 0.5:.8f}","{q * 0.5:.8f}","0"]'
                for t, o, h, lo_, c, v, q in zip(r.open_time.tolist(), r.o.tolist(), r.h.tolist(),
                                                 r.low.tolist(), r.c.tolist(), r.v.tolist(), qv.tolist(),
                                                 strict=True))
        return ("[" + body + "]").encode()

    def _current(self, pdata: PairData, now: int, window_ms: int = 0) -> tuple[Rows | None, int]:
        """Rows from ``window_ms`` before "now" up to the current candle, and the ticker time (real)."""
        clock = self.clock
        vis = clock.visible_until_hist(now)
        s = self.price_series(pdata, vis)
        if s is None:
            return None, now
        t_h = min(vis, s.end - 1)
        i1 = int(np.searchsorted(s.open_time, t_h, "right"))
        if i1 == 0:
            i1 = 1
        i0 = max(0, min(i1 - 1, int(np.searchsorted(s.open_time, t_h - window_ms, "right"))))
        return self.rows(pdata, s, i0, i1, now), min(now, clock.to_real(t_h) + 1)

    def book_top(self, pdata: PairData, last: float, high: float, low: float) -> tuple[float, float, float]:
        """(last, bid, ask) on the tick grid, one tick apart, inside the current candle when possible."""
        tick, dec = pdata.tick, self._price_dec[pdata.symbol]
        p = round(round(last / tick) * tick, dec)
        lo_t, hi_t = math.ceil(low / tick - 1e-9) * tick, math.floor(high / tick + 1e-9) * tick
        if lo_t <= hi_t:
            p = min(max(p, round(lo_t, dec)), round(hi_t, dec))
        if p + tick <= high + tick * 1e-6 or p - tick < tick:
            bid, ask = p, p + tick
        else:
            bid, ask = p - tick, p
        return p, round(bid, dec), round(ask, dec)

    def quote(self, pdata: PairData, now: int) -> dict:
        """Last price, best bid/ask with sizes, for ticker/price, bookTicker and depth."""
        r, t = self._current(pdata, now)
        if r is None or len(r) == 0:
            return {"last": 0.0, "bid": 0.0, "ask": 0.0, "bid_qty": 0.0, "ask_qty": 0.0, "time": t}
        last, bid, ask = self.book_top(pdata, float(r.c[-1]), float(r.h[-1]), float(r.low[-1]))
        return {"last": last, "bid": bid, "ask": ask, "bid_qty": self.level_qty(pdata, bid, 0),
                "ask_qty": self.level_qty(pdata, ask, 0), "time": t}

    def level_qty(self, pdata: PairData, price: float, level: int) -> float:
        if price <= 0:
            return 0.0
        qty = LEVEL_NOTIONAL * (1.0 + 0.25 * level) / price
        steps = max(1, math.floor(qty / pdata.step))
        return round(steps * pdata.step, self._qty_dec[pdata.symbol])

    def ticker_24h(self, pdata: PairData, now: int) -> dict:
        r, t = self._current(pdata, now, DAY_MS)
        sym = pdata.symbol
        if r is None or len(r) == 0:
            z = fmt(0.0)
            return {"symbol": sym, "priceChange": z, "priceChangePercent": "0.000", "weightedAvgPrice": z,
                    "prevClosePrice": z, "lastPrice": z, "lastQty": z, "bidPrice": z, "bidQty": z,
                    "askPrice": z, "askQty": z, "openPrice": z, "highPrice": z, "lowPrice": z,
                    "volume": z, "quoteVolume": z, "openTime": t - DAY_MS, "closeTime": t,
                    "firstId": -1, "lastId": -1, "count": 0}
        last, bid, ask = self.book_top(pdata, float(r.c[-1]), float(r.h[-1]), float(r.low[-1]))
        open_ = float(r.o[0])
        vol = float(r.v.sum())
        qvol = float((r.v * (r.o + r.c) * 0.5).sum())
        wavg = qvol / vol if vol > 0 else last
        prev = float(r.c[-2]) if len(r) > 1 else open_
        dec = self._price_dec[sym]
        return {
            "symbol": sym,
            "priceChange": fmt(round(last - open_, dec)),
            "priceChangePercent": f"{(last - open_) / open_ * 100 if open_ else 0.0:.3f}",
            "weightedAvgPrice": fmt(round(wavg, 8)),
            "prevClosePrice": fmt(prev),
            "lastPrice": fmt(last),
            "lastQty": fmt(pdata.step),
            "bidPrice": fmt(bid),
            "bidQty": fmt(self.level_qty(pdata, bid, 0)),
            "askPrice": fmt(ask),
            "askQty": fmt(self.level_qty(pdata, ask, 0)),
            "openPrice": fmt(open_),
            "highPrice": fmt(max(float(r.h.max()), last)),
            "lowPrice": fmt(min(float(r.low.min()), last)),
            "volume": fmt(round(vol, 8)),
            "quoteVolume": fmt(round(qvol, 8)),
            "openTime": int(r.open_time[0]),
            "closeTime": t,
            "firstId": -1,
            "lastId": -1,
            "count": 0,
        }

    def depth(self, pdata: PairData, limit: int, now: int) -> dict:
        q = self.quote(pdata, now)
        tick, dec = pdata.tick, self._price_dec[pdata.symbol]
        bids, asks = [], []
        for i in range(limit):
            bp = round(q["bid"] - i * tick, dec)
            if bp > 0:
                bids.append([fmt(bp), fmt(self.level_qty(pdata, bp, i))])
            ap = round(q["ask"] + i * tick, dec)
            asks.append([fmt(ap), fmt(self.level_qty(pdata, ap, i))])
        return {"lastUpdateId": q["time"], "bids": bids, "asks": asks}

    def avg_price(self, pdata: PairData, now: int) -> dict:
        r, t = self._current(pdata, now, 5 * 60_000)
        price = float(((r.o + r.c) * 0.5).mean()) if r is not None and len(r) else 0.0
        return {"mins": 5, "price": fmt(round(price, 8)), "closeTime": t}

    def valid_interval(self, interval: str) -> bool:
        return interval in BINANCE_INTERVALS
