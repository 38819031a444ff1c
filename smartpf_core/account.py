"""The account against the portfolio: a coin the exchange holds less of than the portfolio has left the account
outside the bot (a withdrawal, a trade by hand), and the portfolio must not trade or value coins that are gone.

The host feeds the account's amount of every coin (free and locked); a coin counts as short when the account
holds less than the portfolio by more than dust: one lot step plus the fee on the holding (a fee taken in the
coin, a rounding at the step). A coin with an order outstanding is not judged: its balance moves with the fill
before the host's record does.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .market import MarketRules

DIVERGED = "diverged"


@dataclass(frozen=True)
class Shortfall:
    pair: str
    held: float  # what the portfolio holds
    account: float  # what the account holds

    @property
    def missing(self) -> float:
        return self.held - self.account

    def describe(self) -> str:
        return (f"{self.pair.split('/')[0]}: the account holds {self.account:.8g}, the portfolio {self.held:.8g} "
                f"({self.missing:.8g} missing)")

    def to_dict(self) -> dict[str, float | str]:
        return {"pair": self.pair, "held": self.held, "account": self.account, "missing": self.missing}


def dust(held: float, rules: MarketRules | None, fee: float) -> float:
    """How much less than ``held`` the account may hold and still agree: one lot step plus a fee."""
    step = rules.amount_step if rules is not None else 0.0
    return step + abs(held) * fee + 1e-12


def shortfalls(holdings: Mapping[str, float], account: Mapping[str, float], rules: Mapping[str, MarketRules],
               fee: float, skip: frozenset[str] | set[str] = frozenset()) -> list[Shortfall]:
    """The coins (by pair) the account holds less of than the portfolio beyond dust, in the portfolio's order.
    A pair missing from ``account`` is one the host could not read: not judged."""
    out = []
    for pair, held in holdings.items():
        if held <= 0 or pair in skip or pair not in account:
            continue
        there = max(0.0, float(account[pair]))
        if held - there > dust(held, rules.get(pair), fee):
            out.append(Shortfall(pair, held, there))
    return out
