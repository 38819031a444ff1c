"""Loading real candles and market rules into compact, read-only arrays.

Candles are converted once at start into numpy arrays (int64 ms open times, float64 prices) so a
klines request is a ``searchsorted`` and a slice, and the server is never the bottleneck.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from smartpf.errors import ReplaySetupError
from smartpf.markets import MarketsError, read_exchange_info, rules_from_exchange_info
from smartpf.replay.exchange.timeframes import BINANCE_INTERVALS, WEEK_OFFSET_MS, sort_timeframes, timeframe_ms

FILE_RE = re.compile(r"^([A-Z0-9]+)_([A-Z0-9]+)-(\d+[smhdwM])\.feather$")


class DataError(ReplaySetupError):
    """Input files are missing or unusable; the message names the file and what is wrong."""


@dataclass(frozen=True)
class Series:
    """One pair at one timeframe: candle open times (ms, ascending) and OHLCV columns."""

    tf: str
    tf_ms: int
    open_time: np.ndarray
    o: np.ndarray
    h: np.ndarray
    low: np.ndarray
    c: np.ndarray
    v: np.ndarray

    def __len__(self) -> int:
        return len(self.open_time)

    @property
    def first_open(self) -> int:
        return int(self.open_time[0])

    @property
    def end(self) -> int:
        """Close time (exclusive) of the last candle."""
        return int(self.open_time[-1]) + self.tf_ms

    def covers(self, t: int) -> bool:
        return self.first_open <= t < self.end


@dataclass
class PairData:
    """Everything served for one symbol: its exchangeInfo entry and its candle series."""

    symbol: str
    pair: str
    info: dict
    tick: float
    step: float
    series: dict[str, Series] = field(default_factory=dict)

    def finest(self) -> list[Series]:
        """File-backed series, shortest timeframe first."""
        return [self.series[tf] for tf in sort_timeframes(self.series)]


def series_from_frame(tf: str, df: pd.DataFrame) -> Series:
    """Build a Series from a Freqtrade OHLCV frame (date, open, high, low, close, volume)."""
    dates = pd.to_datetime(df["date"], utc=True).dt.tz_localize(None)
    ts = dates.to_numpy().astype("datetime64[ms]").astype(np.int64)
    order = np.argsort(ts, kind="stable")
    ts = ts[order]
    keep = np.concatenate(([True], np.diff(ts) > 0)) if len(ts) else np.zeros(0, dtype=bool)

    def col(name: str) -> np.ndarray:
        return np.ascontiguousarray(df[name].to_numpy(dtype=np.float64)[order][keep])

    return Series(tf, timeframe_ms(tf), np.ascontiguousarray(ts[keep]), col("open"), col("high"),
                  col("low"), col("close"), col("volume"))


def resample(src: Series, tf: str) -> Series:
    """Aggregate a finer series into a longer Binance interval (weeks start Monday, like Binance)."""
    tf_ms = timeframe_ms(tf)
    offset = WEEK_OFFSET_MS if tf == "1w" else 0
    keys = (src.open_time - offset) // tf_ms
    starts = np.flatnonzero(np.concatenate(([True], np.diff(keys) != 0)))
    if len(src) == 0:
        return src
    ends = np.append(starts[1:], len(src)) - 1
    return Series(
        tf, tf_ms, keys[starts] * tf_ms + offset, src.o[starts], np.maximum.reduceat(src.h, starts),
        np.minimum.reduceat(src.low, starts), src.c[ends], np.round(np.add.reduceat(src.v, starts), 8),
    )


def load_exchange_info(path: Path) -> dict:
    """A Binance exchangeInfo body to serve (the same reader as the rest of smartpf): a raw one as
    captured, or a ccxt markets file rendered as one, so another exchange's rules can be rehearsed."""
    try:
        return read_exchange_info(path)
    except MarketsError as e:
        raise DataError(str(e)) from e


def _normalise_pair(name: str) -> str:
    return name.strip().upper().replace("/", "").replace("_", "").replace("-", "")


def scan_datadir(datadir: Path) -> dict[tuple[str, str], list[tuple[str, Path]]]:
    """Candle files by (base, quote): [(timeframe, path), ...]."""
    if not Path(datadir).is_dir():
        raise DataError(f"--datadir {datadir}: not a directory")
    found: dict[tuple[str, str], list[tuple[str, Path]]] = {}
    for path in sorted(Path(datadir).iterdir()):
        m = FILE_RE.match(path.name)
        if m and m.group(3) in BINANCE_INTERVALS:
            found.setdefault((m.group(1), m.group(2)), []).append((m.group(3), path))
    return found


def load_market_data(
    datadir: Path,
    markets_file: Path,
    pairs: list[str] | None = None,
    timeframes: list[str] | None = None,
    all_markets: bool = False,
) -> tuple[dict, dict[str, PairData]]:
    """Load exchangeInfo and candles; returns (exchangeInfo limited to served symbols, {symbol: PairData}).

    Only symbols present in the exchangeInfo can be served (their rules are needed). With
    ``all_markets`` the markets without candles are listed too (their klines are empty).
    """
    info = load_exchange_info(markets_file)
    files = scan_datadir(datadir)
    wanted = {_normalise_pair(p) for p in pairs} if pairs else None
    served: dict[str, PairData] = {}
    by_symbol = {s.get("symbol"): s for s in info["symbols"] if isinstance(s, dict)}
    for (base, quote), entries in files.items():
        symbol = base + quote
        if symbol not in by_symbol or (wanted is not None and symbol not in wanted):
            continue
        pd_ = _pair_data(by_symbol[symbol])
        for tf, path in entries:
            if timeframes and tf not in timeframes:
                continue
            try:
                series = series_from_frame(tf, pd.read_feather(path))
            except Exception as e:  # a broken file must be named, not a traceback
                raise DataError(f"--datadir: cannot read {path.name} ({e})") from e
            if len(series):
                pd_.series[tf] = series
        if pd_.series:
            served[symbol] = pd_
    if all_markets:
        for symbol, entry in by_symbol.items():
            if symbol not in served and (wanted is None or symbol in wanted):
                served[symbol] = _pair_data(entry)
    if wanted is not None:
        missing = sorted(wanted - set(served))
        if missing:
            raise DataError(f"--pairs: no candles or no market rules for {', '.join(missing)}")
    if not served:
        raise DataError(f"--datadir {datadir}: no candle files (like BTC_USDT-1h.feather) for any market in "
                        f"{markets_file}")
    limited = {k: v for k, v in info.items() if k != "symbols"}
    limited["symbols"] = [by_symbol[s] for s in by_symbol if s in served]
    return limited, dict(sorted(served.items()))


def _pair_data(entry: dict) -> PairData:
    symbol = entry["symbol"]
    pair = f"{entry.get('baseAsset', symbol)}/{entry.get('quoteAsset', '')}"
    rule = rules_from_exchange_info({"symbols": [entry]}).get(pair)
    tick = (rule.price_tick if rule else 0.0) or 1e-8
    step = (rule.amount_step if rule else 0.0) or 1e-8
    return PairData(symbol=symbol, pair=pair, info=entry, tick=tick, step=step)
