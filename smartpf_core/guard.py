"""The wick guard: one bad tick does not liquidate the portfolio.

A price that moved more than ``price_guard`` percent since the last price the guard accepted is a
*jump*: nothing acts on it (no take-profit, stop-loss, rebalance, investment change or
termination) until it is confirmed, i.e. the price is still within ``price_guard`` of the jump
at least one ``check_interval`` after the jump was first seen. A wick that comes back within the
limit of the accepted price before then is simply forgotten; a crash that persists is acted on one
check later. A price that keeps leaping (each new price far from the last jump) is a new jump
each time and waits again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Jump:
    """A price move not confirmed yet."""

    pair: str
    accepted: float  # the last accepted price
    price: float  # the jumped price
    since: float  # when the jump was first seen

    @property
    def change_pct(self) -> float:
        return (self.price / self.accepted - 1.0) * 100.0


def _within(price: float, reference: float, limit_pct: float) -> bool:
    return abs(price / reference - 1.0) * 100.0 <= limit_pct + 1e-9


@dataclass
class PriceGuard:
    accepted: dict[str, float] = field(default_factory=dict)
    pending: dict[str, tuple[float, float]] = field(default_factory=dict)  # pair -> (price, first seen)

    def check(self, prices: Mapping[str, float], pairs: Iterable[str], now: float, limit_pct: float | None,
              hold_for: float) -> list[Jump]:
        """Accept the prices that are plausible; return the jumps that still wait for confirmation."""
        jumps: list[Jump] = []
        for pair in pairs:
            price = prices[pair]
            ref = self.accepted.get(pair)
            if limit_pct is None or ref is None or _within(price, ref, limit_pct):
                self.accept(pair, price)
                continue
            pend = self.pending.get(pair)
            if pend is not None and _within(price, pend[0], limit_pct):
                if now - pend[1] >= hold_for - 1e-9:
                    self.accept(pair, price)
                    continue
                jumps.append(Jump(pair, ref, price, pend[1]))
                continue
            self.pending[pair] = (price, now)
            jumps.append(Jump(pair, ref, price, now))
        return jumps

    def accept(self, pair: str, price: float) -> None:
        """Take ``price`` as the last accepted one (any jump pending for ``pair`` is settled)."""
        self.accepted[pair] = price
        self.pending.pop(pair, None)

    def to_dict(self) -> dict[str, Any]:
        return {"accepted": dict(self.accepted), "pending": {p: list(v) for p, v in self.pending.items()}}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PriceGuard:
        return cls({p: float(v) for p, v in data.get("accepted", {}).items()},
                   {p: (float(v[0]), float(v[1])) for p, v in data.get("pending", {}).items()})
