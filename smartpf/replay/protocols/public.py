"""What the OKX and XT public front ends (:class:`~smartpf.replay.protocols.front.Front`) share: the served
markets' raw entries from a ccxt markets file, and candles as rows selected by each exchange's own paging rule.

An OKX or XT front end answers with the exchange's own instrument objects (ccxt keeps them in each
market's ``info``), so ccxt parses exactly what the real exchange sends; prices, candles and the book
come from the one :class:`~smartpf.replay.exchange.market.Market` behind every protocol.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from smartpf.errors import ReplaySetupError
from smartpf.replay.exchange.data import PairData
from smartpf.replay.exchange.market import Market, Rows, fmt


class ProtocolSetupError(ReplaySetupError):
    """The markets file cannot back this protocol; the message names the option and what is needed."""


def raw_markets(markets_file: Path, market: Market, protocol: str, id_key: str) -> dict[str, dict]:
    """``{pair: the exchange's raw instrument}`` for every served pair, from a ccxt markets file.

    The replay serves ``info`` untouched; a Binance exchangeInfo file, or a ccxt file of another
    exchange (no ``id_key`` in ``info``), is refused with a message naming ``--markets``.
    """
    try:
        data = json.loads(Path(markets_file).read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise ProtocolSetupError(f"--markets {markets_file}: cannot read it ({e})") from None
    if not isinstance(data, dict) or "symbols" in data:
        raise ProtocolSetupError(f"--markets {markets_file}: --protocol {protocol} needs a ccxt markets file of "
                                 f"{protocol} (e.g. ../shared/markets/ccxt/{protocol}.json), not Binance exchangeInfo")
    found: dict[str, dict] = {}
    for pdata in market.pairs.values():
        entry = data.get(pdata.pair)
        info = entry.get("info") if isinstance(entry, dict) else None
        if not isinstance(info, dict) or id_key not in info:
            raise ProtocolSetupError(f"--markets {markets_file}: {pdata.pair} has no {protocol} instrument "
                                     f"(info.{id_key}); --protocol {protocol} needs a ccxt markets file of {protocol}")
        found[pdata.pair] = info
    return found


def select_candles(market: Market, pdata: PairData, interval: str, now: int, limit: int,
                   first: int | None = None, last: int | None = None, latest: bool = True) -> Rows | None:
    """Candles with real open time in ``[first, last]`` (either may be None), visible at ``now``, at
    most ``limit``: the latest ones (``latest``) or the earliest ones. None if the interval has no series."""
    s = market.series(pdata, interval)
    if s is None:
        return None
    clock = market.clock
    hi = int(np.searchsorted(s.open_time, clock.visible_until_hist(now), "right"))
    if last is not None:
        hi = min(hi, int(np.searchsorted(s.open_time, clock.to_hist(last), "right")))
    lo = 0 if first is None else int(np.searchsorted(s.open_time, clock.to_hist(first), "left"))
    if latest:
        lo = max(lo, hi - limit)
    else:
        hi = min(hi, lo + limit)
    return market.rows(pdata, s, lo, max(lo, hi), now)


def candle_fields(rows: Rows) -> list[tuple[int, str, str, str, str, str, str]]:
    """(open time, open, high, low, close, base volume, quote volume) as the exchange's decimal strings."""
    quote = rows.v * (rows.o + rows.c) * 0.5
    return [(t, fmt(o), fmt(h), fmt(lo), fmt(c), fmt(v), f"{q:.8f}")
            for t, o, h, lo, c, v, q in zip(rows.open_time.tolist(), rows.o.tolist(), rows.h.tolist(),
                                             rows.low.tolist(), rows.c.tolist(), rows.v.tolist(), quote.tolist(),
                                             strict=True)]
