"""Binance interval names and their length, so every module agrees on one table."""

from __future__ import annotations

MINUTE_MS = 60_000

# Every interval Binance spot accepts for klines (1M is calendar-based and has no fixed length).
BINANCE_INTERVALS: dict[str, int] = {
    "1s": 1_000,
    "1m": MINUTE_MS,
    "3m": 3 * MINUTE_MS,
    "5m": 5 * MINUTE_MS,
    "15m": 15 * MINUTE_MS,
    "30m": 30 * MINUTE_MS,
    "1h": 60 * MINUTE_MS,
    "2h": 120 * MINUTE_MS,
    "4h": 240 * MINUTE_MS,
    "6h": 360 * MINUTE_MS,
    "8h": 480 * MINUTE_MS,
    "12h": 720 * MINUTE_MS,
    "1d": 1440 * MINUTE_MS,
    "3d": 3 * 1440 * MINUTE_MS,
    "1w": 7 * 1440 * MINUTE_MS,
    "1M": 30 * 1440 * MINUTE_MS,
}

# Binance weeks start on Monday; the Unix epoch was a Thursday.
WEEK_OFFSET_MS = 4 * 1440 * MINUTE_MS


def timeframe_ms(name: str) -> int:
    """Length of a Binance interval in milliseconds; KeyError for an unknown name."""
    return BINANCE_INTERVALS[name]


def sort_timeframes(names: list[str] | set[str]) -> list[str]:
    """Shortest first."""
    return sorted(names, key=timeframe_ms)
