"""One view of a portfolio at given prices: the only place its value, profit, HODL comparison, cash and
per-coin actual / target / band are computed. ``smartpf status``, the backtest summary, the Freqtrade
strategy and the fast simulator all read these figures from here.

A coin without a price is valued at 0, its price is None and it is listed in ``unpriced``; the HODL
value is None when a coin of the HODL basket has no price (never valued at 0 for want of a price).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from .states import PortfolioStatus

if TYPE_CHECKING:
    from .run import Run


def profit_pct(value: float, invested: float) -> float:
    """Profit in percent of the net principal (0 when nothing is invested)."""
    return (value - invested) / invested * 100 if invested else 0.0


@dataclass(frozen=True)
class CoinView:
    pair: str
    amount: float
    price: float | None
    value: float
    actual_pct: float
    target_pct: float
    band_low_pct: float
    band_high_pct: float
    dust: float = 0.0  # coins fees in the coin left outside the host's trades (smartpf_core.dust), in ``value``

    @property
    def coin(self) -> str:
        return self.pair.split("/")[0]

    @property
    def deviation_pct(self) -> float:
        return self.actual_pct - self.target_pct


@dataclass(frozen=True)
class PortfolioView:
    status: PortfolioStatus
    rebalancing: bool  # an operation is under way
    value: float
    cash: float
    invested: float
    hodl_value: float | None
    coins: tuple[CoinView, ...]
    unpriced: tuple[str, ...]
    rebalances: int
    termination: Mapping[str, Any] | None
    threshold: str  # the threshold in words, its type always said
    mode: str

    @property
    def profit(self) -> float:
        return self.value - self.invested

    @property
    def profit_pct(self) -> float:
        return profit_pct(self.value, self.invested)

    @property
    def hodl_profit_pct(self) -> float | None:
        return None if self.hodl_value is None else profit_pct(self.hodl_value, self.invested)

    @property
    def cash_pct(self) -> float:
        return self.cash / self.value * 100 if self.value > 0 else 0.0

    def details(self) -> dict[str, Any]:
        """The engine's details as JSON (the strategy's ``/status`` data and its log lines)."""
        return {
            "status": self.status, "value": self.value, "cash": self.cash, "invested": self.invested,
            "profit": self.profit, "profit_pct": self.profit_pct, "hodl_value": self.hodl_value,
            "hodl_profit_pct": self.hodl_profit_pct,
            "coins": [{**asdict(c), "price": c.price or 0.0} for c in self.coins],
            "threshold": self.threshold, "mode": self.mode, "rebalances": self.rebalances,
            "termination": self.termination,
        }


def portfolio_view(run: Run, prices: Mapping[str, float]) -> PortfolioView:
    spec, ledger = run.spec, run.ledger
    owned = ledger.owned()  # the holdings and their dust: the portfolio's coins
    priced = {p: prices[p] for p in (*owned, *ledger.hodl.holdings) if prices.get(p)}
    value = ledger.cash + sum(q * priced.get(p, 0.0) for p, q in owned.items() if q)
    hodl_unpriced = [p for p in ledger.hodl_pairs() if p not in priced]
    hodl = None if hodl_unpriced else ledger.hodl.value(priced)
    coins = []
    targets = run.targets()  # (the settings' weights, or those computed from data)
    for pair in run.pairs():
        amount, dust = ledger.holdings.get(pair, 0.0), ledger.dust.get(pair, 0.0)
        price = prices.get(pair) or None
        coin_value = (amount + dust) * price if price else 0.0
        weight = targets.get(pair, 0.0)
        target = weight * 100
        band = spec.threshold_for(pair).band(weight) * 100
        coins.append(CoinView(pair, amount, price, coin_value, coin_value / value * 100 if value > 0 else 0.0,
                              target, max(0.0, target - band), target + band, dust))
    unpriced = tuple(sorted({c.pair for c in coins if c.price is None} | set(hodl_unpriced)))
    # (a portfolio still making its initial purchase stays new while diverged: its view says diverged too)
    status = PortfolioStatus.DIVERGED if run.diverged and run.status == PortfolioStatus.NEW else run.status
    return PortfolioView(status, run.op is not None, value, ledger.cash, ledger.invested, hodl, tuple(coins),
                         unpriced, ledger.rebalances, run.termination, spec.describe_threshold(), spec.mode)
