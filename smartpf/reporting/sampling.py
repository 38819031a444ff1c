"""Fewer points for long runs: a page of 8 years of hourly candles would weigh tens of MB and draw
slowly. The lines keep, in each bucket of candles, the lowest and the highest value (so no peak and no
drawdown bottom is lost) plus the candles around every trade; every figure in the totals is computed
from all the candles."""

from __future__ import annotations

import numpy as np

MAX_POINTS = 6000


def sample_indices(values: np.ndarray, max_points: int = MAX_POINTS) -> np.ndarray:
    n = len(values)
    if n <= max_points:
        return np.arange(n)
    buckets = max(1, max_points // 2)
    size = -(-n // buckets)
    padded = np.concatenate([values, np.full(size * buckets - n, values[-1])]).reshape(buckets, size)
    base = np.arange(buckets) * size
    picked = np.concatenate([base + padded.argmin(axis=1), base + padded.argmax(axis=1), [0, n - 1]])
    return np.unique(np.clip(picked, 0, n - 1))


def with_trades(indices: np.ndarray, trade_index: np.ndarray, n: int) -> np.ndarray:
    """The sampled candles plus each trade's candle and the one before (the step of a rebalance shows)."""
    if not len(trade_index) or len(indices) == n:
        return indices
    extra = np.concatenate([trade_index, np.maximum(trade_index - 1, 0)])
    return np.unique(np.concatenate([indices, extra]))
