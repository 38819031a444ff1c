"""Durations written the way Freqtrade users write timeframes: ``30m``, ``4h``, ``1d``, ``7d``, ``1w``."""

from __future__ import annotations

import re

UNIT_SECONDS = {"m": 60, "h": 3600, "d": 86400, "w": 604800}
_INTERVAL = re.compile(r"^\s*(\d+)\s*([mhdw])\s*$")


def parse_interval(text: object) -> int:
    """Seconds in ``text``; ValueError with a message a user can act on otherwise."""
    if not isinstance(text, str):
        raise ValueError("must be a text such as '30m', '4h', '1d' or '7d'")
    match = _INTERVAL.match(text)
    if match is None:
        raise ValueError("must be a whole number followed by m, h, d or w, such as '30m', '4h', '1d' or '7d'")
    seconds = int(match.group(1)) * UNIT_SECONDS[match.group(2)]
    if seconds <= 0:
        raise ValueError("must be longer than zero, such as '1m'")
    return seconds


def format_interval(seconds: float) -> str:
    """Human-friendly duration, the inverse of ``parse_interval`` where it can be."""
    seconds = int(round(seconds))
    for unit in ("w", "d", "h", "m"):
        size = UNIT_SECONDS[unit]
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size}{unit}"
    if seconds >= 60:
        return f"{seconds // 60}m{seconds % 60}s"
    return f"{seconds}s"
