"""Balances, free and locked, per asset. Callers hold the simulator's lock, so a trade's moves are
applied together or not at all."""

from __future__ import annotations

from decimal import Decimal

from smartpf.replay.exchange.amounts import ZERO, dec, fmt8


class Balances:
    def __init__(self) -> None:
        self.free: dict[str, Decimal] = {}
        self.locked: dict[str, Decimal] = {}

    def get_free(self, asset: str) -> Decimal:
        return self.free.get(asset, ZERO)

    def get_locked(self, asset: str) -> Decimal:
        return self.locked.get(asset, ZERO)

    def credit(self, asset: str, amount: Decimal) -> None:
        self.free[asset] = self.get_free(asset) + amount

    def debit(self, asset: str, amount: Decimal) -> None:
        """Take from free; the caller has checked it is there (an assertion, never a negative balance)."""
        left = self.get_free(asset) - amount
        if left < 0:
            raise AssertionError(f"{asset} free balance would go negative ({left})")
        self.free[asset] = left

    def lock(self, asset: str, amount: Decimal) -> None:
        self.debit(asset, amount)
        self.locked[asset] = self.get_locked(asset) + amount

    def unlock(self, asset: str, amount: Decimal) -> None:
        self.take_locked(asset, amount)
        self.credit(asset, amount)

    def take_locked(self, asset: str, amount: Decimal) -> None:
        left = self.get_locked(asset) - amount
        if left < 0:
            raise AssertionError(f"{asset} locked balance would go negative ({left})")
        self.locked[asset] = left

    def assets(self) -> list[str]:
        return sorted(set(self.free) | set(self.locked))

    def to_dict(self) -> dict[str, dict[str, str]]:
        return {a: {"free": fmt8(self.get_free(a)), "locked": fmt8(self.get_locked(a))} for a in self.assets()}

    @classmethod
    def from_dict(cls, data: dict) -> Balances:
        b = cls()
        for asset, row in data.items():
            b.free[asset] = dec(row.get("free", "0"))
            b.locked[asset] = dec(row.get("locked", "0"))
        return b
