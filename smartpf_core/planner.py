"""The rebalance plan: only the differences, sells first, buys with the cash the sells produced.

Both planners are pure functions of the current holdings, prices and cash. Quantities are rounded
down to the pair's step; an order below the effective minimum is not planned but returned as a
``SkippedOrder`` with its shortfall, so that a user can be told why nothing happened.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .allocation import portfolio_value
from .market import EPS, MarketRules, Reserves, floor_to_step, min_order_value, min_position_value

NO_RULES = MarketRules()


def ceil_to_step(amount: float, step: float, cap: float) -> float:
    """``amount`` rounded up to a multiple of ``step``, but never above ``cap`` (what is held)."""
    down = floor_to_step(amount, step)
    if step <= 0 or down >= amount * (1 - 1e-12):
        return min(down, cap)
    up = floor_to_step(down + step, step)
    return up if up <= cap else floor_to_step(cap, step)


@dataclass(frozen=True)
class PlannedOrder:
    pair: str
    side: str  # "buy" or "sell"
    amount: float  # base quantity, a multiple of the pair's step
    price: float  # the price the plan was made at
    full: bool = False  # a sell of the whole position (closes it)

    @property
    def value(self) -> float:
        return self.amount * self.price


@dataclass(frozen=True)
class SkippedOrder:
    """An order the plan wanted but could not send, and by how much it fell short."""

    pair: str
    side: str
    value: float  # the order's value as checked against the minimum (its amount rounded to the step)
    minimum: float
    why: str = "below_minimum"  # or "position_minimum" (a sell would leave too little behind)
    wanted: float = 0.0  # the value before rounding to the step, when it differs

    @property
    def shortfall(self) -> float:
        return max(0.0, self.minimum - self.value)

    def describe(self, currency: str = "USDT") -> str:
        if self.why == "position_minimum":
            return (
                f"{self.side} {self.pair} {self.value:.2f} {currency}: would leave less than the "
                f"{self.minimum:.2f} {currency} a position must keep"
            )
        rounded = (f" ({self.wanted:.2f} wanted, rounded down to the amount step)"
                   if self.wanted > self.value + 0.005 else "")
        return (
            f"{self.side} {self.pair} {self.value:.2f} {currency}{rounded} is below the minimum "
            f"{self.minimum:.2f} {currency} (short by {self.shortfall:.2f})"
        )


@dataclass(frozen=True)
class Plan:
    orders: tuple[PlannedOrder, ...]
    skipped: tuple[SkippedOrder, ...]


def plan_sells(
    targets: Mapping[str, float],
    holdings: Mapping[str, float],
    prices: Mapping[str, float],
    cash: float,
    rules: Mapping[str, MarketRules],
    min_trade: float,
    reserves: Reserves,
    reserved: float = 0.0,
    sell_all: bool = False,
    round_up: bool = False,
) -> Plan:
    """Sell what is above target. ``reserved`` cash is taken out of the portfolio (a withdrawal).

    A coin whose target is zero (removed from the portfolio), or every coin when ``sell_all``,
    is sold whole. Otherwise a sell never leaves less than the position minimum behind.
    ``round_up`` rounds each quantity up to the step instead of down (a withdrawal must raise at
    least what was asked; rounding down would leave it short by the step).
    """
    investable = portfolio_value(holdings, prices, cash) - reserved
    orders: list[PlannedOrder] = []
    skipped: list[SkippedOrder] = []
    for pair, held in holdings.items():
        if held <= 0:
            continue
        price = prices[pair]
        rule = rules.get(pair, NO_RULES)
        value = held * price
        minimum = min_order_value(rule, price, min_trade, reserves)
        target = 0.0 if sell_all else targets.get(pair, 0.0) * investable
        if target <= 0:
            if value + EPS < minimum:
                skipped.append(SkippedOrder(pair, "sell", value, minimum))
            else:
                orders.append(PlannedOrder(pair, "sell", held, price, full=True))
            continue
        excess = value - target
        if excess <= EPS:
            continue
        amount = ceil_to_step(excess / price, rule.amount_step, held) if round_up else rule.floor_amount(excess / price)
        keep_at_least = min_position_value(rule, price, reserves)
        if (held - amount) * price < keep_at_least:
            amount = rule.floor_amount(max(0.0, held - keep_at_least / price))
            if amount * price + EPS < minimum:
                skipped.append(SkippedOrder(pair, "sell", excess, keep_at_least, why="position_minimum"))
                continue
        if amount <= 0 or amount * price + EPS < minimum:
            skipped.append(SkippedOrder(pair, "sell", amount * price if amount > 0 else excess, minimum,
                                        wanted=excess))
            continue
        orders.append(PlannedOrder(pair, "sell", amount, price))
    return Plan(tuple(orders), tuple(skipped))


def plan_buys(
    targets: Mapping[str, float],
    holdings: Mapping[str, float],
    prices: Mapping[str, float],
    cash: float,
    rules: Mapping[str, MarketRules],
    min_trade: float,
    reserves: Reserves,
    fee: float,
    reserved: float = 0.0,
    spendable: float | None = None,
    exclude: frozenset[str] | set[str] = frozenset(),
) -> Plan:
    """Buy what is below target with the cash there is (fees included), never more.

    When the cash cannot fill every deficit, each is scaled by the same factor, so the coins that
    are most under-weighted get the most. The cash is shared only among orders that will be sent:
    a deficit whose share would fall below its minimum is dropped (the smallest first) and the
    cash is shared again among the rest. ``exclude`` names coins not to buy (those a rebalance
    has just sold: it never trades a coin both ways). ``spendable`` caps the cash further (the
    host's free balance, if lower than the bot's own cash).
    """
    budget = cash - reserved
    if spendable is not None:
        budget = min(budget, spendable)
    if budget <= EPS:
        return Plan((), ())
    investable = portfolio_value(holdings, prices, cash) - reserved
    deficits: dict[str, float] = {}
    for pair, weight in targets.items():
        if pair in exclude:
            continue
        gap = weight * investable - holdings.get(pair, 0.0) * prices[pair]
        if gap > EPS:
            deficits[pair] = gap
    skipped: list[SkippedOrder] = []
    while deficits:
        total_cost = sum(deficits.values()) * (1 + fee)
        if total_cost <= EPS:
            return Plan((), ())
        scale = min(1.0, budget / total_cost) * (1 - 1e-9)
        orders: list[PlannedOrder] = []
        failed: list[SkippedOrder] = []
        for pair, gap in deficits.items():
            price = prices[pair]
            rule = rules.get(pair, NO_RULES)
            wanted = gap * scale
            amount = rule.floor_amount(wanted / price)
            minimum = min_order_value(rule, price, min_trade, reserves)
            if holdings.get(pair, 0.0) <= 0:
                minimum = max(minimum, min_position_value(rule, price, reserves))
            if amount <= 0 or amount * price + EPS < minimum:
                failed.append(SkippedOrder(pair, "buy", amount * price, minimum, wanted=wanted))
                continue
            orders.append(PlannedOrder(pair, "buy", amount, price))
        if not failed or scale >= 1 - 1e-6:
            return Plan(tuple(orders), (*skipped, *failed))
        # the smallest deficit that cannot be sent gives up its share; the others are planned again
        drop = min(failed, key=lambda s: deficits[s.pair])
        skipped.append(drop)
        del deficits[drop.pair]
    return Plan((), tuple(skipped))


def plan_initial(
    weights: Mapping[str, float],
    investment: float,
    prices: Mapping[str, float],
    rules: Mapping[str, MarketRules],
    min_trade: float,
    reserves: Reserves,
    fee: float,
    cash: float,
) -> Plan:
    """The first purchase: every coin for ``investment x weight``, fees paid from the investment."""
    budget = min(investment, cash) / (1 + fee) * (1 - 1e-9)
    orders: list[PlannedOrder] = []
    skipped: list[SkippedOrder] = []
    for pair, weight in weights.items():
        price = prices[pair]
        rule = rules.get(pair, NO_RULES)
        wanted = budget * weight
        amount = rule.floor_amount(wanted / price)
        minimum = max(min_order_value(rule, price, min_trade, reserves), min_position_value(rule, price, reserves))
        if amount <= 0 or amount * price + EPS < minimum:
            skipped.append(SkippedOrder(pair, "buy", amount * price, minimum, wanted=wanted))
            continue
        orders.append(PlannedOrder(pair, "buy", amount, price))
    return Plan(tuple(orders), tuple(skipped))
