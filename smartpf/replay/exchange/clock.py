"""The two clocks and the intra-candle price model, as pure functions of numbers.

``history``: candles keep their timestamps, everything in the files is visible.
``replay``: real time is mapped onto a historical instant. Served time = historical time + shift,
where the shift is a whole number of the largest served timeframe (so candle boundaries stay
aligned). "Now" falls inside one historical candle, which is served partially; later candles never.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

# Far enough in the future that every candle is complete and visible (history clock).
FAR_FUTURE_MS = 2**62


@dataclass(frozen=True)
class Clock:
    """Maps served (real) time to historical time; ``started_ms`` is the real server start (T0)."""

    mode: str
    shift_ms: int
    started_ms: int
    start_hist_ms: int | None = None

    @property
    def replay(self) -> bool:
        return self.mode == "replay"

    def to_hist(self, t_real: int) -> int:
        return t_real - self.shift_ms

    def to_real(self, t_hist: int) -> int:
        return t_hist + self.shift_ms

    def visible_until_hist(self, now_real: int) -> int:
        """Latest historical instant whose data may be served: now in replay, everything in history."""
        return self.to_hist(now_real) if self.replay else FAR_FUTURE_MS


def history_clock(started_ms: int) -> Clock:
    return Clock("history", 0, started_ms, None)


def replay_clock(started_ms: int, start_hist_ms: int, align_ms: int) -> Clock:
    return Clock("replay", compute_shift(started_ms, start_hist_ms, align_ms), started_ms, start_hist_ms)


def compute_shift(now_real_ms: int, start_hist_ms: int, align_ms: int) -> int:
    """Shift (real - historical) as a whole number of ``align_ms``, so ``now - shift`` lands in
    ``[start_hist, start_hist + align)`` and candle boundaries of every timeframe dividing
    ``align_ms`` stay on boundaries."""
    if align_ms <= 0:
        raise ValueError("align_ms must be positive")
    return ((now_real_ms - start_hist_ms) // align_ms) * align_ms


def default_start(firsts: list[int], ends: list[int], base_tf_ms: int, warmup: int, align_ms: int) -> int:
    """Earliest instant where every base-timeframe series has ``warmup`` candles behind it.

    ``firsts``/``ends`` are the first open and the end of each series at the base (shortest)
    timeframe. The result is rounded up to ``align_ms``. If the data is too short for the warm-up,
    the warm-up shrinks to what fits (at least half the common window is left to run).
    """
    latest_first, earliest_end = max(firsts), min(ends)
    want = latest_first + warmup * base_tf_ms
    if earliest_end > latest_first:
        want = min(want, latest_first + (earliest_end - latest_first) // 2)
    return -(-want // align_ms) * align_ms


def path_points(o: float, h: float, low: float, c: float) -> tuple[float, float, float, float]:
    """The modelled path inside a candle, at fractions 0, 1/3, 2/3, 1: a rising candle dips to its
    low first then rises to its high; a falling one does the opposite. It never leaves [low, high]."""
    return (o, low, h, c) if c >= o else (o, h, low, c)


_KNOTS = (0.0, 1 / 3, 2 / 3, 1.0)


def path_price(o: float, h: float, low: float, c: float, f: float) -> float:
    """Price at fraction ``f`` (0..1) of the candle along the modelled path."""
    pts = path_points(o, h, low, c)
    f = min(max(f, 0.0), 1.0)
    for k in range(3):
        if f <= _KNOTS[k + 1]:
            w = (f - _KNOTS[k]) * 3.0
            return pts[k] + (pts[k + 1] - pts[k]) * w
    return c


def partial_candle(o: float, h: float, low: float, c: float, v: float,
                   f: float) -> tuple[float, float, float, float, float]:
    """The candle as seen at fraction ``f`` of its duration: open, high/low so far, close = price now,
    volume pro rata. At f = 1 it is the real candle."""
    f = min(max(f, 0.0), 1.0)
    if f >= 1.0:
        return o, h, low, c, v
    pts = path_points(o, h, low, c)
    seen = [pts[k] for k in range(4) if _KNOTS[k] <= f]
    now = path_price(o, h, low, c, f)
    seen.append(now)
    return o, max(seen), min(seen), now, v * f


def parse_iso(text: str) -> int:
    """ISO 8601 date or date-time (UTC if no zone) to epoch ms; ValueError if unreadable."""
    t = text.strip()
    if t.endswith(("Z", "z")):
        t = t[:-1] + "+00:00"
    dt = datetime.fromisoformat(t)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp() * 1000)


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
