"""When to look: proportional checks on clock boundaries, scheduled checks counted from the start.

Both are expressed as a check *index*: a check is due when the index at ``now`` is larger than the
last one checked. Boundaries missed during a data gap or downtime therefore collapse into one
check, never a burst.
"""

from __future__ import annotations

import math


def proportional_index(now: float, check_interval: int) -> int:
    """Index of the ``check_interval`` boundary at or before ``now`` (boundaries aligned to the epoch)."""
    return math.floor(now / check_interval + 1e-9)


def scheduled_index(now: float, start: float, interval: int) -> int:
    """How many whole intervals have passed since the bot started."""
    if now < start:
        return 0
    return math.floor((now - start) / interval + 1e-9)


def next_scheduled_time(now: float, start: float, interval: int) -> float:
    return start + (scheduled_index(now, start, interval) + 1) * interval


def next_proportional_time(now: float, check_interval: int) -> float:
    return (proportional_index(now, check_interval) + 1) * check_interval
