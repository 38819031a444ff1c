"""Freqtrade-format candles (``BTC_USDT-1m.feather``) as aligned arrays for the core simulator.

Follows Freqtrade's backtest conventions: a timerange ``YYYYMMDD-YYYYMMDD`` keeps candles dated from
the start day's 00:00 up to and including the end day's 00:00 candle; the run covers every candle
time present in any pair; a pair's missing candle is NaN (no fill-up: no trade on a missing price).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from smartpf.errors import SmartpfError
from smartpf_core.conventions import FREQTRADE


class CandleError(SmartpfError):
    pass


@dataclass(frozen=True)
class Timerange:
    start: datetime | None
    stop: datetime | None

    @classmethod
    def parse(cls, text: str | None) -> Timerange:
        if not text:
            return cls(None, None)
        match = re.fullmatch(r"(\d{8})?-(\d{8})?", text.strip())
        if match is None:
            raise CandleError(f"--timerange {text!r}: use YYYYMMDD-YYYYMMDD, YYYYMMDD- or -YYYYMMDD")

        def day(value: str | None) -> datetime | None:
            if value is None:
                return None
            try:
                return datetime.strptime(value, "%Y%m%d").replace(tzinfo=UTC)
            except ValueError as exc:
                raise CandleError(f"--timerange {text!r}: {value} is not a valid date") from exc

        start, stop = day(match.group(1)), day(match.group(2))
        if start and stop and stop <= start:
            raise CandleError(f"--timerange {text!r}: the end must be after the start")
        return cls(start, stop)


@dataclass(frozen=True)
class Candles:
    times: np.ndarray  # epoch seconds, int64
    opens: dict[str, np.ndarray]
    closes: dict[str, np.ndarray]

    def __len__(self) -> int:
        return len(self.times)


def candle_file(datadir: Path, pair: str, timeframe: str) -> Path:
    return Path(datadir) / f"{pair.replace('/', '_')}-{timeframe}.feather"


def load_candles(datadir: str | Path, pairs: list[str], timeframe: str, timerange: Timerange) -> Candles:
    frames: dict[str, pd.DataFrame] = {}
    for pair in pairs:
        path = candle_file(Path(datadir), pair, timeframe)
        if not path.exists():
            raise CandleError(
                f"no {timeframe} candles for {pair}: {path} does not exist "
                f"(download them with: smartpf fetch-data -c CONFIG --timeframe {timeframe} --datadir {datadir})"
            )
        df = pd.read_feather(path, columns=["date", "open", "close", "volume"])
        if timerange.start is not None:
            df = df[df["date"] >= timerange.start]
        if timerange.stop is not None:
            df = df[df["date"] <= timerange.stop]
        if df.empty:
            raise CandleError(f"{pair} {timeframe}: no candles inside the timerange")
        frames[pair] = df.drop_duplicates("date").set_index("date")
    index = frames[pairs[0]].index
    for df in frames.values():
        index = index.union(df.index)
    times = (index.as_unit("s").asi8 if hasattr(index, "as_unit") else index.asi8 // 10**9).astype(np.int64)
    # a candle filled up for a gap (volume 0) is missing, as the strategy sees it (conventions.FREQTRADE)
    opens = {p: df["open"].where((df["volume"] > FREQTRADE.min_volume) & (df["open"] > 0))
             .reindex(index).to_numpy(dtype=float) for p, df in frames.items()}
    closes = {p: df["close"].reindex(index).to_numpy(dtype=float) for p, df in frames.items()}
    return Candles(times, opens, closes)


def ffill_closes(col: np.ndarray) -> np.ndarray:
    """The last known close at each candle, 0 before the first (ValueTracker's ``last_close.get(p, 0.0)``):
    how both the fast engine and the report value a coin on a missing candle."""
    known = ~np.isnan(col)
    if known.all():
        return col
    idx = np.where(known, np.arange(len(col)), -1)
    np.maximum.accumulate(idx, out=idx)
    return np.where(idx >= 0, col[np.maximum(idx, 0)], 0.0)
