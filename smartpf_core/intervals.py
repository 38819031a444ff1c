"""Durations written the way Freqtrade users write timeframes: ``30m``, ``4h``, ``1d``, ``7d``, ``1w``."""

from __future__ import annotations

import re

UNIT_SECONDS = {"m": 60, "h": 3600, "d": 86400, "w": 604800}
_INTERVAL = re.compile(r"^\s*(\d+)\s*([mhdw])\s*$")
MAX_SECONDS = 366 * 86400  # a year (and a leap day): longer waits are a typo, and huge ones overflow dates


def parse_interval(text: object) -> int:
    """Seconds in ``text``; ValueError with a message a user can act on otherwise."""
    if not isinstance(text, str):
        raise ValueError("must be a text such as '30m', '4h', '1d' or '7d'")
    match = _INTERVAL.match(text)
    if match is None:
        raise ValueError("must be a whole number followed by m, h, d or w, such as '30m', '4h', '1d' or '7d'")
    digits, unit = match.group(1), match.group(2)
    seconds = int(digits) * UNIT_SECONDS[unit] if len(digits.lstrip("0")) <= 9 else MAX_SECONDS + 1
    if seconds <= 0:
        raise ValueError("must be longer than zero, such as '1m'")
    if seconds > MAX_SECONDS:
        raise ValueError("must be at most a year ('366d' or '52w')")
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
